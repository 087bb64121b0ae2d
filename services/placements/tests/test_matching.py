"""Matching on the real database and broker: agreement events make the corridors, matching
proposes only across them, and only to whom may ask.

The agreements' events are published to the topic as the agreements service would; the
service's consumer keeps its copy, and each test waits for it with ``eventually``.
"""

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest
from aiokafka import AIOKafkaProducer

from laborcoop.common.clock import ManualClock
from laborcoop.common.db import Pool, create_pool
from laborcoop.common.deps import state_of
from laborcoop.contracts import topics
from laborcoop.contracts.agreements import (
    AgreementActivated,
    AgreementAmended,
    AgreementDeclined,
    AgreementDrafted,
    AgreementExpired,
    AgreementProposed,
    AgreementSigned,
    AgreementTerminated,
    Party,
    Target,
    Terms,
)
from laborcoop.contracts.codes import AgreementKind, AgreementStatus, PartyRole
from laborcoop.contracts.corridors import corridors_of
from laborcoop.contracts.envelope import CloudEvent
from laborcoop.contracts.events import EventPayload, new_event
from laborcoop.contracts.identifiers import make_resident_id
from laborcoop.placements import corridors
from laborcoop.placements.app import SPEC, create_app
from laborcoop.placements.consumers import AGREEMENTS
from laborcoop.placements.protection import Keyring
from laborcoop.placements.settings import PlacementsSettings
from laborcoop.testing import FreshApps, Stack, Tokens, eventually, running
from laborcoop.testing.databases import Databases
from laborcoop.testing.leaks import WATCH
from services.placements.tests.conftest import key_settings

SHANGHAI, YUNNAN, GUIZHOU, HUNAN, SICHUAN = "310000", "530000", "520000", "430000", "510000"
COUNTIES = {YUNNAN: "530102", GUIZHOU: "520102", HUNAN: "430524"}
OCCUPATION = "6-04-01-01"
T0 = datetime(2025, 3, 1, 2, 0, tzinfo=UTC)


def terms(*targets: Target, parties: tuple[Party, ...] | None = None) -> Terms:
    return Terms(
        title="深化沪滇劳务协作",
        kind=AgreementKind.BILATERAL,
        parties=parties
        or (
            Party(province=YUNNAN, role=PartyRole.SENDING),
            Party(province=SHANGHAI, role=PartyRole.RECEIVING),
        ),
        initiator=SHANGHAI,
        targets=targets,
        effective_from=date(2025, 1, 1),
    )


@dataclass
class Agreement:
    """One agreement's events, numbered as the agreements service numbers them."""

    terms: Terms
    id: UUID = field(default_factory=uuid4)
    version: int = 0

    def event(self, payload_type: Callable[..., EventPayload], **fields: Any) -> CloudEvent:
        self.version += 1
        payload = payload_type(agreement_id=self.id, **fields)
        return new_event(
            payload,
            subject=str(self.id),
            version=self.version,
            provinces=[p.province for p in self.terms.parties],
            time=T0 + timedelta(minutes=self.version),
        )

    def activation(self) -> list[CloudEvent]:
        """Drafted, proposed, signed by each party, activated."""
        parties = [p.province for p in self.terms.parties]
        events = [
            self.event(AgreementDrafted, revision=1, terms=self.terms),
            self.event(AgreementProposed, revision=1, terms=self.terms),
        ]
        for i, province in enumerate(parties):
            events.append(
                self.event(
                    AgreementSigned,
                    revision=1,
                    province=province,
                    remaining=tuple(parties[i + 1 :]),
                )
            )
        return [*events, self.event(AgreementActivated, revision=1, terms=self.terms)]


# -- the copy, event by event (the handlers on the database, no broker) -----------------------


@pytest.fixture
async def pool(databases: Databases) -> AsyncIterator[Pool]:
    pool = await create_pool(await databases.fresh(SPEC.migration_package), min_size=1, max_size=2)
    yield pool
    await pool.close()


async def apply(pool: Pool, *events: CloudEvent) -> None:
    for event in events:
        async with pool.acquire() as conn, conn.transaction():
            await AGREEMENTS.handlers[event.type](event)(conn)


async def copy_of(pool: Pool, agreement: Agreement) -> dict[str, Any]:
    row = await pool.fetchrow(
        "SELECT status, kind, revision, terms, corridors, version FROM agreement_copy "
        "WHERE agreement_id = $1",
        agreement.id,
    )
    assert row is not None
    return dict(row)


def test_corridors_are_the_targets_and_every_sender_to_every_receiver() -> None:
    alliance = terms(
        Target(period="2025", origin=SICHUAN, destination=GUIZHOU, workers_transferred=10),
        parties=(
            Party(province=YUNNAN, role=PartyRole.SENDING),
            Party(province=SHANGHAI, role=PartyRole.RECEIVING),
            Party(province=GUIZHOU, role=PartyRole.BOTH),
            Party(province=SICHUAN, role=PartyRole.BOTH),
        ),
    )
    assert corridors_of(alliance) == sorted(
        [
            f"{YUNNAN}>{SHANGHAI}",
            f"{YUNNAN}>{GUIZHOU}",
            f"{YUNNAN}>{SICHUAN}",
            f"{GUIZHOU}>{SHANGHAI}",
            f"{GUIZHOU}>{SICHUAN}",
            f"{SICHUAN}>{SHANGHAI}",
            f"{SICHUAN}>{GUIZHOU}",
        ]
    )


async def test_the_copy_follows_the_lifecycle_and_only_terms_in_force(pool: Pool) -> None:
    first = terms(
        Target(period="2025", origin=YUNNAN, destination=SHANGHAI, workers_transferred=500)
    )
    agreement = Agreement(first)
    drafted, proposed, signed_1, signed_2, activated = agreement.activation()
    await apply(pool, drafted, proposed)
    assert (await copy_of(pool, agreement))["status"] == "proposed"
    await apply(pool, signed_1)
    assert (await copy_of(pool, agreement))["status"] == "proposed"
    await apply(pool, signed_2)
    assert (await copy_of(pool, agreement))["status"] == "signed"
    async with pool.acquire() as conn:
        assert await corridors.covered_origins(conn, SHANGHAI) == []
    await apply(pool, activated)
    held = await copy_of(pool, agreement)
    assert (held["status"], held["kind"], held["revision"]) == ("active", "bilateral", 1)
    assert held["corridors"] == [f"{YUNNAN}>{SHANGHAI}"]

    # An amendment: its terms are not in force while under signature, even once all signed.
    second = terms(
        Target(period="2025", origin=YUNNAN, destination=SHANGHAI, workers_transferred=800),
        Target(period="2026", origin=YUNNAN, destination=SHANGHAI, workers_transferred=900),
    )
    under_signature = [
        agreement.event(AgreementProposed, revision=2, terms=second, amendment=True),
        agreement.event(AgreementSigned, revision=2, province=YUNNAN, remaining=(SHANGHAI,)),
        agreement.event(AgreementSigned, revision=2, province=SHANGHAI, remaining=()),
    ]
    await apply(pool, *under_signature)
    held = await copy_of(pool, agreement)
    assert (held["status"], held["revision"], held["version"]) == ("active", 1, 8)
    assert Terms.model_validate(held["terms"]) == first
    async with pool.acquire() as conn:
        [cover] = await corridors.covering_agreements(conn, YUNNAN, SHANGHAI)
    assert (cover.agreement_id, cover.target("2025"), cover.target("2026")) == (
        agreement.id,
        500,
        None,
    )

    await apply(
        pool,
        agreement.event(AgreementAmended, revision=2, terms=second, status=AgreementStatus.ACTIVE),
    )
    held = await copy_of(pool, agreement)
    assert (held["status"], held["revision"]) == ("active", 2)
    async with pool.acquire() as conn:
        [cover] = await corridors.covering_agreements(conn, YUNNAN, SHANGHAI)
        assert await corridors.covered_destinations(conn, YUNNAN) == [SHANGHAI]
    assert dict(cover.targets) == {"2025": 800, "2026": 900}

    # An older event delivered late changes nothing; a later one does.
    await apply(pool, proposed, signed_2)
    assert (await copy_of(pool, agreement))["status"] == "active"
    await apply(
        pool, agreement.event(AgreementExpired, revision=2, effective_to=date(2026, 12, 31))
    )
    assert (await copy_of(pool, agreement))["status"] == "expired"
    async with pool.acquire() as conn:
        assert await corridors.covering_agreements(conn, YUNNAN, SHANGHAI) == []


async def test_a_declined_proposal_returns_to_draft_and_a_declined_amendment_changes_nothing(
    pool: Pool,
) -> None:
    proposal = Agreement(terms())
    await apply(
        pool,
        proposal.event(AgreementDrafted, revision=1, terms=proposal.terms),
        proposal.event(AgreementProposed, revision=1, terms=proposal.terms),
    )
    assert (await copy_of(pool, proposal))["status"] == "proposed"
    await apply(
        pool, proposal.event(AgreementDeclined, revision=1, province=YUNNAN, reason="名额不足")
    )
    assert (await copy_of(pool, proposal))["status"] == "draft"

    active = Agreement(terms())
    await apply(pool, *active.activation())
    await apply(
        pool,
        active.event(AgreementProposed, revision=2, terms=terms(), amendment=True),
        active.event(AgreementDeclined, revision=2, province=YUNNAN, reason="否", amendment=True),
    )
    assert (await copy_of(pool, active))["status"] == "active"


async def test_an_agreement_first_seen_active_is_copied(pool: Pool) -> None:
    """The copy does not need the draft: an event with terms writes the row."""
    agreement = Agreement(terms())
    *_, activated = agreement.activation()
    await apply(pool, activated)
    assert (await copy_of(pool, agreement))["status"] == "active"
    await apply(
        pool, agreement.event(AgreementTerminated, revision=1, province=YUNNAN, reason="调整")
    )
    assert (await copy_of(pool, agreement))["status"] == "terminated"


async def insert_worker(pool: Pool, origin: str, occupations: list[str], **columns: Any) -> UUID:
    """A worker row as the workers' store writes it (sealed columns as placeholders)."""
    row: dict[str, Any] = {
        "id": uuid4(),
        "origin": origin,
        "county": COUNTIES[origin],
        "sex": "male",
        "birth_year": 1990,
        "name": "k1:x",
        "resident_id": "k1:x",
        "phone": "k1:x",
        "poverty_alleviation": "k1:x",
        "id_index": uuid4().bytes,
        "education": "junior_secondary",
        "occupations": occupations,
        "availability": "available",
        "sealed_with": "k1",
        "version": 1,
        "created_at": T0,
        "updated_at": T0,
        **columns,
    }
    placeholders = ", ".join(f"${i}" for i in range(1, len(row) + 1))
    await pool.execute(
        f"INSERT INTO workers ({', '.join(row)}) VALUES ({placeholders})", *row.values()
    )
    worker_id: UUID = row["id"]
    return worker_id


async def keys_of(pool: Pool, worker_id: UUID) -> dict[str, tuple[Any, ...]]:
    rows = await pool.fetch(
        "SELECT key, brand_id, wage_min, wage_max, xmin::text AS written FROM worker_matching "
        "WHERE worker_id = $1",
        worker_id,
    )
    return {r["key"]: (r["brand_id"], r["wage_min"], r["wage_max"], r["written"]) for r in rows}


async def test_worker_matching_follows_every_change_of_the_workers(pool: Pool) -> None:
    """The index of available workers by origin and occupation is kept by the database itself,
    in the statement that changes a worker, whoever writes it."""
    worker = await insert_worker(pool, YUNNAN, ["6-04-01-01", "6-04-02-01"], wage_min=5000)
    kept = await keys_of(pool, worker)
    assert set(kept) == {f"{YUNNAN}/6-04-01-01", f"{YUNNAN}/6-04-02-01", f"{YUNNAN}/6-04"}
    assert {v[:3] for v in kept.values()} == {(None, 5000, None)}
    away = await insert_worker(pool, YUNNAN, ["6-04-01-01"], availability="unavailable")
    assert await keys_of(pool, away) == {}

    await pool.execute(
        'UPDATE workers SET consents = \'[{"province": "310000"}]\', version = 2 WHERE id = $1',
        worker,
    )
    assert await keys_of(pool, worker) == kept  # not even rewritten

    await pool.execute("UPDATE workers SET availability = 'placed' WHERE id = $1", worker)
    assert await keys_of(pool, worker) == {}
    brand = uuid4()
    await pool.execute(
        "UPDATE workers SET availability = 'available', occupations = $2, brand_id = $3 "
        "WHERE id = $1",
        worker,
        ["2-02-01-01"],
        brand,
    )
    assert {k: v[:3] for k, v in (await keys_of(pool, worker)).items()} == {
        f"{YUNNAN}/2-02-01-01": (brand, 5000, None),
        f"{YUNNAN}/2-02": (brand, 5000, None),
    }

    await pool.execute("UPDATE workers SET availability = 'available' WHERE origin = $1", YUNNAN)
    assert set(await keys_of(pool, away)) == {f"{YUNNAN}/6-04-01-01", f"{YUNNAN}/6-04"}
    await pool.execute("DELETE FROM workers WHERE origin = $1", YUNNAN)
    assert await pool.fetchval("SELECT count(*) FROM worker_matching") == 0


# -- through the API, with the consumer running on the broker ---------------------------------


@dataclass
class Live:
    client: httpx.AsyncClient
    pool: Pool
    tokens: Tokens
    producer: AIOKafkaProducer
    topic: str

    async def publish(self, *events: CloudEvent) -> None:
        for event in events:
            await self.producer.send_and_wait(
                self.topic, event.to_json_bytes(), key=event.subject.encode()
            )

    async def worker(self, origin: str, sequence: int, **profile: Any) -> str:
        body = {
            "name": "李四海",
            "resident_id": make_resident_id(COUNTIES[origin], date(1992, 3, 9), sequence),
            "phone": f"139{sequence:08d}",
            "education": "junior_secondary",
            "occupations": [OCCUPATION],
            **profile,
        }
        WATCH.remember(origin, body["name"], body["resident_id"], body["phone"])
        answer = await self.client.post(
            "/v1/workers", json=body, headers=self.tokens.province(origin)
        )
        assert answer.status_code == 201, answer.text
        worker_id: str = answer.json()["id"]
        return worker_id

    async def demand(self, **changes: Any) -> UUID:
        """A demand of Shanghai, as the demands table holds it."""
        row: dict[str, Any] = {
            "id": uuid4(),
            "province": SHANGHAI,
            "kind": "placement",
            "status": "open",
            "employer_name": "上海某制造有限公司",
            "employer_credit_code": "91310115MA1K4QXX3L",
            "occupation": OCCUPATION,
            "headcount": 10,
            "wage_min": 6000,
            "wage_max": 9000,
            "city_code": "310115",
            "start_date": date(2025, 4, 1),
            "open_until": date(2025, 6, 1),
            "preferred_brands": [],
            "version": 1,
            "created_at": T0,
            "updated_at": T0,
            **changes,
        }
        placeholders = ", ".join(f"${i}" for i in range(1, len(row) + 1))
        await self.pool.execute(
            f"INSERT INTO demands ({', '.join(row)}) VALUES ({placeholders})", *row.values()
        )
        demand_id: UUID = row["id"]
        return demand_id

    async def matches(self, demand_id: UUID, **params: Any) -> dict[str, Any]:
        answer = await self.client.get(
            f"/v1/demands/{demand_id}/matches",
            params=params,
            headers=self.tokens.province(SHANGHAI),
        )
        assert answer.status_code == 200, answer.text
        body: dict[str, Any] = answer.json()
        return body


@pytest.fixture
async def live(
    fresh_apps: FreshApps, ring: Keyring, clock: ManualClock, stack: Stack, tokens: Tokens
) -> AsyncIterator[Live]:
    """The service with its consumers running, and a producer to the agreements topic."""
    settings = await fresh_apps.settings(
        PlacementsSettings, SPEC.migration_package, run_workers=True, **key_settings(ring)
    )
    app = fresh_apps.app(create_app, settings, clock=clock)
    producer = AIOKafkaProducer(bootstrap_servers=stack.kafka_bootstrap)
    await producer.start()
    try:
        async with running(app) as client:
            yield Live(
                client, state_of(app).pool, tokens, producer, settings.topic(topics.AGREEMENTS)
            )
    finally:
        await producer.stop()


async def test_only_covered_origins_match_until_the_agreement_is_terminated(live: Live) -> None:
    yunnan = [await live.worker(YUNNAN, n) for n in range(1, 4)]
    guizhou = await live.worker(GUIZHOU, 11)
    await live.worker(HUNAN, 21)
    unavailable = await live.worker(YUNNAN, 31)
    took_leave = await live.client.post(
        f"/v1/workers/{unavailable}/availability",
        json={"available": False},
        headers=live.tokens.province(YUNNAN),
    )
    assert took_leave.status_code == 200, took_leave.text
    demand_id = await live.demand()
    assert (await live.matches(demand_id))["matches"] == []  # no agreement yet

    hu_dian = Agreement(
        terms(Target(period="2025", origin=YUNNAN, destination=SHANGHAI, workers_transferred=500))
    )
    draft = Agreement(
        terms(
            parties=(
                Party(province=GUIZHOU, role=PartyRole.SENDING),
                Party(province=SHANGHAI, role=PartyRole.RECEIVING),
            )
        )
    )
    await live.publish(*hu_dian.activation(), *draft.activation()[:3])

    async def matched() -> dict[str, Any] | None:
        found = await live.matches(demand_id)
        return found if found["matches"] else None

    found = await eventually(matched)
    assert found["origins"] == [YUNNAN]
    assert sorted(m["worker_id"] for m in found["matches"]) == sorted(yunnan)
    assert guizhou not in {m["worker_id"] for m in found["matches"]}
    first = found["matches"][0]
    assert set(first) == {
        "worker_id", "origin", "county", "occupations", "brand_id", "certificates",
        "wage_min", "wage_max", "score", "reasons",
    }  # fmt: skip
    assert first["reasons"][0] == "occupation: exact"
    assert any(r.startswith("distance: ") for r in first["reasons"])

    reverse = await live.client.get(
        f"/v1/workers/{yunnan[0]}/matches", headers=live.tokens.province(YUNNAN)
    )
    assert reverse.status_code == 200, reverse.text
    assert reverse.json()["destinations"] == [SHANGHAI]
    assert [m["demand_id"] for m in reverse.json()["matches"]] == [str(demand_id)]

    await live.publish(
        hu_dian.event(AgreementTerminated, revision=1, province=SHANGHAI, reason="到期调整")
    )

    async def unmatched() -> dict[str, Any] | None:
        found = await live.matches(demand_id)
        return found if not found["matches"] else None

    assert (await eventually(unmatched))["origins"] == []


async def test_the_limit_and_the_order_of_matches(live: Live) -> None:
    brand = uuid4()
    await live.pool.execute(
        "INSERT INTO brand_copy VALUES ($1, '云南咖啡师', $2, 'recognised', 1, now())",
        brand,
        YUNNAN,
    )
    plain = [await live.worker(YUNNAN, n) for n in range(1, 4)]
    branded = await live.worker(YUNNAN, 4, brand_id=str(brand))
    near = await live.worker(YUNNAN, 5, occupations=["6-04-01-02"])
    group = await live.worker(YUNNAN, 6, occupations=["6-04-07-01"])
    await live.worker(YUNNAN, 7, occupations=["2-02-01-01"])  # another group: not a candidate
    agreement = Agreement(terms())
    await live.publish(*agreement.activation())
    demand_id = await live.demand(preferred_brands=[brand])

    async def six() -> dict[str, Any] | None:
        found = await live.matches(demand_id)
        return found if len(found["matches"]) == 6 else None

    found = await eventually(six)
    assert found["considered"] == 6
    assert [m["worker_id"] for m in found["matches"]] == [branded, *plain, near, group]
    assert "brand: preferred" in found["matches"][0]["reasons"]
    assert found["matches"][4]["reasons"][0] == "occupation: minor group 6-04-01"
    assert found["matches"][5]["reasons"][0] == "occupation: group 6-04"
    top = await live.matches(demand_id, limit=2)
    assert [m["worker_id"] for m in top["matches"]] == [branded, plain[0]]


async def test_who_may_ask_for_matches(live: Live) -> None:
    tokens, client = live.tokens, live.client
    worker_id = await live.worker(YUNNAN, 1)
    demand_id = await live.demand()
    closed = await live.demand(status="closed", closed_reason="招满")
    on_demand = f"/v1/demands/{demand_id}/matches"
    on_worker = f"/v1/workers/{worker_id}/matches"
    cases = [
        (on_demand, tokens.province(SHANGHAI), 200),
        (on_demand, tokens.province(YUNNAN), 403),
        (on_demand, tokens.ministry(), 403),
        (on_demand, tokens.observer(), 403),
        (f"/v1/demands/{uuid4()}/matches", tokens.province(SHANGHAI), 404),
        (f"/v1/demands/{closed}/matches", tokens.province(SHANGHAI), 409),
        (on_worker, tokens.province(YUNNAN), 200),
        (on_worker, tokens.province(SHANGHAI), 404),
        (on_worker, tokens.ministry(), 403),
        (on_worker, tokens.observer(), 403),
        (f"/v1/workers/{uuid4()}/matches", tokens.province(YUNNAN), 404),
        (on_demand, {}, 401),
    ]
    for path, headers, status in cases:
        answer = await client.get(path, headers=headers)
        assert answer.status_code == status, (path, headers, answer.text)
    for limit in ("0", "101", "x"):
        answer = await client.get(
            on_demand, params={"limit": limit}, headers=tokens.province(SHANGHAI)
        )
        assert answer.status_code == 422, answer.text
