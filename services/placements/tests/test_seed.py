"""The labour exchange's demo data: fictional but valid people, drawn the same way every time; a
seed adds workers, demands and placements in every state through the use cases, a second seed
adds nothing, and no seeded personal data reaches any event."""

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID, uuid4

import pytest
from fastapi import FastAPI

from laborcoop.common.clock import ManualClock
from laborcoop.common.db import Pool
from laborcoop.common.deps import state_of
from laborcoop.contracts import topics
from laborcoop.contracts.codes import DemandStatus, PlacementStatus, ReturnPath
from laborcoop.contracts.identifiers import (
    birth_date_of,
    check_credit_code,
    check_mobile,
    county_of,
    province_of,
)
from laborcoop.contracts.provinces import province_of as province_of_division
from laborcoop.placements import corridors
from laborcoop.placements.app import create_app
from laborcoop.placements.exchange import LabourExchange
from laborcoop.placements.seed import (
    COUNTY_NAMES,
    SHANGHAI,
    STORY_CYCLE,
    YUNNAN,
    Added,
    Story,
    demo_workers,
    plan,
    seed,
    worker_count,
)
from laborcoop.placements.settings import PlacementsSettings
from laborcoop.testing import FreshApps, Stack, read_topic, row_counts

NOW = datetime(2026, 6, 1, 4, tzinfo=UTC)
ANY_ID_OR_MOBILE = re.compile(r"(?<![0-9A-Za-z])(\d{17}[\dX]|1[3-9]\d{9})(?![0-9A-Za-z])")
"""An ID number or a mobile number, not a part of a longer word (a trace id, a uuid)."""
TABLES = ("workers", "demands", "placements", "event_history")  # the relay empties the outbox


# --- The plan, without a database ---------------------------------------------------------------


def test_the_first_workers_are_the_same_whatever_the_count() -> None:
    assert demo_workers(40) == demo_workers(120)[:40]
    assert demo_workers(40) == demo_workers(40)


def test_demo_people_are_valid_and_distinct() -> None:
    workers = demo_workers(600)
    ids = [w.person.resident_id for w in workers]
    assert len(set(ids)) == len(ids)
    for worker in workers:
        person = worker.person
        assert province_of(person.resident_id) == worker.origin
        assert county_of(person.resident_id) in COUNTY_NAMES
        assert 1965 <= birth_date_of(person.resident_id).year <= 2004
        assert check_mobile(person.phone) == person.phone
        assert re.fullmatch(r"[\u4e00-\u9fff]{2,4}", person.name), person.name
    assert len({w.person.name for w in workers}) > 400  # Faker's names, not one name


def test_the_plan_shows_every_fate_and_valid_distinct_employers() -> None:
    workers = demo_workers(5 * len(STORY_CYCLE))
    layout = plan(workers)
    assert {w.placement.fate for w in workers if w.placement} == set(Story)
    codes = [d.credit_code for d in layout.demands.values()]
    assert len(set(codes)) == len(codes)
    for demand in layout.demands.values():
        assert check_credit_code(demand.credit_code) == demand.credit_code
        assert province_of_division(demand.city[0]) == demand.province
    for worker in workers:
        if worker.placement is not None:
            demand = layout.demands[layout.demand_of[worker.index]]
            assert demand.province == worker.placement.destination != worker.origin
            assert demand.occupation == worker.occupation


def test_the_number_of_workers_comes_from_the_option_or_the_environment() -> None:
    assert worker_count(12, {"LABORCOOP_SEED_WORKERS": "7"}) == 12
    assert worker_count(None, {"LABORCOOP_SEED_WORKERS": "7"}) == 7
    assert worker_count(None, {}) == 3_000
    with pytest.raises(ValueError, match="LABORCOOP_SEED_WORKERS"):
        worker_count(None, {"LABORCOOP_SEED_WORKERS": "many"})


# --- Seeding the real database ------------------------------------------------------------------


@pytest.fixture
async def running(
    fresh_apps: FreshApps, settings: PlacementsSettings, clock: ManualClock
) -> AsyncIterator[FastAPI]:
    """The service with its relay, so that what the seed records reaches Kafka."""
    publishing = settings.model_copy(update={"run_workers": True})
    async with fresh_apps.running(create_app, publishing, clock=clock) as (app, _):
        yield app


def _parts(app: FastAPI) -> tuple[Pool, LabourExchange, PlacementsSettings]:
    state = state_of(app)
    assert isinstance(state.use_cases, LabourExchange)
    assert isinstance(state.settings, PlacementsSettings)
    return state.pool, state.use_cases, state.settings


async def test_a_seed_adds_every_state_once_and_no_personal_data_reaches_an_event(
    running: FastAPI, stack: Stack
) -> None:
    pool, use, settings = _parts(running)
    count = 400

    first = await seed(pool, use, settings, workers=count, now=NOW)

    layout = plan(demo_workers(count))
    assert first == Added(count, len(layout.demands), len(layout.demand_of), 0)
    statuses = {r["status"] for r in await pool.fetch("SELECT status FROM placements")}
    assert statuses == set(PlacementStatus)
    follow_ups = await pool.fetch(
        "SELECT DISTINCT follow_up FROM placements WHERE follow_up IS NOT NULL"
    )
    assert {r["follow_up"] for r in follow_ups} == set(ReturnPath)
    milestones = await pool.fetchrow(
        """SELECT count(*) FILTER (WHERE status = 'onboarded' AND retained_3m_on IS NOT NULL
                                   AND retained_6m_on IS NULL) AS three,
                  count(*) FILTER (WHERE status = 'onboarded'
                                   AND retained_6m_on IS NOT NULL) AS six,
                  count(*) FILTER (WHERE outside_agreement) AS outside
           FROM placements"""
    )
    assert milestones is not None
    assert milestones["three"] > 0
    assert milestones["six"] > 0
    assert milestones["outside"] == len(layout.demand_of)  # no agreement copy in this database
    demand_statuses = {r["status"] for r in await pool.fetch("SELECT status FROM demands")}
    assert demand_statuses == set(DemandStatus)
    availability = {r["availability"] for r in await pool.fetch("SELECT availability FROM workers")}
    assert availability == {"available", "placed", "unavailable"}
    consents = await pool.fetchval("SELECT count(*) FROM workers WHERE consents <> '[]'")
    assert consents > len(layout.demand_of)
    in_clear = await pool.fetchval(
        "SELECT count(*) FROM workers WHERE NOT (name LIKE 'k1:%' AND resident_id LIKE 'k1:%' "
        "AND phone LIKE 'k1:%' AND poverty_alleviation LIKE 'k1:%')"
    )
    assert in_clear == 0

    before = await row_counts(pool, *TABLES)
    assert await seed(pool, use, settings, workers=count, now=NOW) == Added()
    assert await row_counts(pool, *TABLES) == before

    records = []
    for topic, aggregate in ((topics.WORKERS, "worker"), (topics.DEMANDS, "demand"),
                             (topics.PLACEMENTS, "placement")):  # fmt: skip
        events = await pool.fetchval(
            "SELECT count(*) FROM event_history WHERE type LIKE $1",
            f"cn.laborcoop.placements.{aggregate}.%",
        )
        found = await read_topic(
            stack.kafka_bootstrap, settings.topic(topic), expect=events, timeout=60
        )
        assert len(found) == events, topic  # every event of the seed published, once
        records.extend(found)
    texts = [
        b" ".join(
            [record.key or b"", record.value or b"", *(v for _, v in record.headers)]
        ).decode()
        for record in records
    ]
    assert len(texts) == await pool.fetchval("SELECT count(*) FROM event_history")
    everything = "\n".join(texts)
    for worker in demo_workers(count):
        person = worker.person
        for value in (person.name, person.resident_id, person.phone):
            assert value not in everything, f"worker {worker.index}'s personal data in an event"
    assert "poverty" not in everything
    assert not ANY_ID_OR_MOBILE.search(everything)


async def test_a_larger_seed_adds_only_the_workers_it_did_not_have(running: FastAPI) -> None:
    pool, use, settings = _parts(running)
    small = await seed(pool, use, settings, workers=60, now=NOW)
    ids = {r["id"] for r in await pool.fetch("SELECT id FROM workers")}

    larger = await seed(pool, use, settings, workers=100, now=NOW)

    assert (small.workers, larger.workers) == (60, 40)
    assert larger.placements == len(plan(demo_workers(100)).demand_of) - small.placements
    assert ids < {r["id"] for r in await pool.fetch("SELECT id FROM workers")}
    assert await seed(pool, use, settings, workers=100, now=NOW) == Added()


@dataclass(frozen=True)
class _Cover:
    """What the placements' use cases read of an agreement covering a corridor."""

    agreement_id: UUID

    def target(self, period: str) -> int | None:
        return None


async def test_a_placement_counts_against_the_agreement_covering_its_corridor_when_known(
    running: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    pool, use, settings = _parts(running)
    hu_dian = uuid4()  # as if this service's copy of the agreements had 深化沪滇劳务协作 active

    async def covering(conn: object, origin: str, destination: str) -> list[_Cover]:
        return [_Cover(hu_dian)] if (origin, destination) == (YUNNAN, SHANGHAI) else []

    monkeypatch.setattr(corridors, "covering_agreements", covering)

    await seed(pool, use, settings, workers=200, now=NOW)

    rows = await pool.fetch(
        "SELECT origin, destination, agreement_id, outside_agreement FROM placements"
    )
    covered = [r for r in rows if (r["origin"], r["destination"]) == (YUNNAN, SHANGHAI)]
    assert covered
    assert all(r["agreement_id"] == hu_dian and not r["outside_agreement"] for r in covered)
    others = [r for r in rows if r not in covered]
    assert others
    assert all(r["agreement_id"] is None and r["outside_agreement"] for r in others)
