"""Activation and expiry by the scheduler alone (controllable clock); one event per change."""

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from laborcoop.agreements.app import SPEC, create_app
from laborcoop.agreements.seed import DEMO_AGREEMENTS, seed
from laborcoop.agreements.service import Agreements
from laborcoop.agreements.settings import AgreementsSettings
from laborcoop.common.clock import ManualClock
from laborcoop.common.deps import state_of
from laborcoop.common.periodic import Periodic
from laborcoop.contracts import decode, topics
from laborcoop.contracts.agreements import AgreementActivated, AgreementExpired
from laborcoop.contracts.envelope import CloudEvent
from laborcoop.testing import FreshApps, Tokens, eventually, read_topic

SH, YN = "310000", "530000"


def scheduler(app: FastAPI) -> Periodic:
    """The agreements service's scheduler (its one periodic worker)."""
    worker = state_of(app).workers.others[0]
    assert isinstance(worker, Periodic)
    return worker


@pytest.fixture
async def live(
    fresh_apps: FreshApps, clock: ManualClock
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    """The service with its relay, consumers and scheduler running (a fast scheduler)."""
    settings = await fresh_apps.settings(
        AgreementsSettings, SPEC.migration_package, scheduler_interval_s=0.1
    )
    async with fresh_apps.running(create_app, settings, clock=clock) as live:
        yield live


async def signed_agreement(
    client: httpx.AsyncClient, tokens: Tokens, **dates: str
) -> dict[str, Any]:
    terms = {
        "title": "深化沪滇劳务协作",
        "kind": "bilateral",
        "parties": [{"province": SH, "role": "receiving"}, {"province": YN, "role": "sending"}],
        **dates,
    }
    agreement: dict[str, Any] = (
        await client.post("/v1/agreements", json=terms, headers=tokens.province(SH))
    ).json()
    url = f"/v1/agreements/{agreement['id']}"
    await client.post(f"{url}/proposal", headers=tokens.province(SH))
    for member in (SH, YN):
        answer = await client.post(
            f"{url}/signatures", json={"province": member}, headers=tokens.province(member)
        )
        assert answer.status_code == 200
    result: dict[str, Any] = answer.json()
    return result


async def test_scheduler_activates_and_expires_without_any_call(
    live: tuple[FastAPI, httpx.AsyncClient], tokens: Tokens, clock: ManualClock
) -> None:
    app, client = live
    agreement = await signed_agreement(
        client, tokens, effective_from="2025-03-02", effective_to="2025-03-04"
    )
    assert agreement["status"] == "signed"
    pool = state_of(app).pool

    async def status_is(expected: str) -> bool:
        found = await pool.fetchval("SELECT status FROM agreements WHERE id = $1", agreement["id"])
        return bool(found == expected)

    clock.advance(hours=12)  # 2025-03-01 22:00 in Beijing: still the day before the start
    assert await scheduler(app).run_once() == 0
    assert await status_is("signed")
    clock.advance(hours=2)  # 2025-03-02 00:00 in Beijing
    await eventually(lambda: status_is("active"))
    clock.advance(days=2)  # 2025-03-04: the last day in force
    assert await scheduler(app).run_once() == 0
    clock.advance(days=1)
    await eventually(lambda: status_is("expired"))

    rows = await pool.fetch(
        "SELECT type FROM event_history WHERE subject = $1 ORDER BY version", agreement["id"]
    )
    kinds = [r["type"].split(".")[-2] for r in rows]
    assert kinds[-2:] == ["activated", "expired"]
    assert kinds.count("activated") == kinds.count("expired") == 1


async def test_every_change_is_one_event_in_order_with_the_right_provinces(
    live: tuple[FastAPI, httpx.AsyncClient], tokens: Tokens, clock: ManualClock
) -> None:
    app, client = live
    agreement = await signed_agreement(
        client, tokens, effective_from="2025-03-01", effective_to="2025-03-01"
    )
    clock.advance(days=1)
    await eventually(lambda: _outbox_empty(app))
    topic = state_of(app).settings.topic(topics.AGREEMENTS)

    async def expired_published() -> list[CloudEvent] | None:
        records = await read_topic(
            state_of(app).settings.kafka_bootstrap, topic, expect=6, timeout=5
        )
        events = [CloudEvent.from_json_bytes(r.value) for r in records if r.value]
        return events if any(isinstance(decode(e), AgreementExpired) for e in events) else None

    events = await eventually(expired_published, timeout=30)
    assert [e.type.split(".")[-2] for e in events] == [
        "drafted",
        "proposed",
        "signed",
        "signed",
        "activated",
        "expired",
    ]
    assert [e.version for e in events] == [1, 2, 3, 4, 5, 6]
    assert all(e.subject == agreement["id"] for e in events)
    assert events[0].provinces == SH
    assert all(e.provinces == f"{SH},{YN}" for e in events[1:])
    assert isinstance(decode(events[4]), AgreementActivated)


async def test_seed_adds_the_four_conference_agreements_once(
    agreements_app: FastAPI, client: httpx.AsyncClient, tokens: Tokens
) -> None:
    use = state_of(agreements_app).use_cases
    assert isinstance(use, Agreements)
    assert await seed(state_of(agreements_app).pool, use) == 4
    assert await seed(state_of(agreements_app).pool, use) == 0
    page = (await client.get("/v1/agreements?status=active", headers=tokens.observer())).json()
    titles = {a["terms"]["title"]: a for a in page["items"]}
    assert set(titles) == {d.title for d in DEMO_AGREEMENTS}
    yellow_river = titles["沿黄9省区劳务协作联盟"]["terms"]
    assert [p["province"] for p in yellow_river["parties"]] == ["370000", "620000", "640000"]
    assert yellow_river["kind"] == "alliance"


async def _outbox_empty(app: FastAPI) -> bool:
    backlog: int = await state_of(app).pool.fetchval("SELECT count(*) FROM outbox")
    return backlog == 0
