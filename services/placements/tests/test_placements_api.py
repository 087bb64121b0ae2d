"""Placements through the API on the real database: the whole life of a placement, what the
database decides under concurrency, and who may do what."""

import asyncio
from uuid import uuid4

import httpx
import pytest

from laborcoop.common.clock import ManualClock
from laborcoop.common.db import connect
from laborcoop.placements.settings import PlacementsSettings
from laborcoop.testing import Tokens
from services.placements.tests.steps import GUANGDONG, HUNAN, SHANGHAI, Exchange, demand_body


@pytest.fixture
def exchange(client: httpx.AsyncClient, tokens: Tokens) -> Exchange:
    return Exchange(client, tokens)


async def test_a_placement_from_proposal_to_the_return_home(
    exchange: Exchange, clock: ManualClock
) -> None:
    worker_id = await exchange.worker()
    demand_id = await exchange.demand(headcount=1)
    placement_id = await exchange.placement(worker_id, demand_id)
    accepted = await exchange.ok(await exchange.act(placement_id, "acceptance"))
    assert accepted["status"] == "accepted"
    client = exchange.client
    worker = await exchange.ok(await client.get(f"/v1/workers/{worker_id}", headers=exchange.hunan))
    assert worker["availability"] == "placed"
    demand = await exchange.ok(
        await client.get(f"/v1/demands/{demand_id}", headers=exchange.shanghai)
    )
    assert (demand["status"], demand["accepted"]) == ("filled", 1)
    await exchange.ok(
        await exchange.act(placement_id, "onboarding", {"on": "2025-03-01"}, as_=SHANGHAI)
    )
    clock.advance(days=200)
    await exchange.ok(
        await exchange.act(placement_id, "milestones", {"months": 3, "on": "2025-06-01"})
    )
    await exchange.ok(
        await exchange.act(placement_id, "milestones", {"months": 6, "on": "2025-09-01"})
    )
    returned = await exchange.ok(
        await exchange.act(
            placement_id,
            "return",
            {"on": "2025-09-10", "follow_up": "business_startup", "note": "返乡开办家政公司"},
        )
    )
    assert (returned["status"], returned["follow_up"]) == ("returned", "business_startup")
    worker = await exchange.ok(await client.get(f"/v1/workers/{worker_id}", headers=exchange.hunan))
    assert worker["availability"] == "available"
    history = await exchange.ok(
        await client.get(f"/v1/placements/{placement_id}/history", headers=exchange.shanghai)
    )
    assert [e["type"].split(".")[-2] for e in history["items"]] == [
        "proposed",
        "accepted",
        "onboarded",
        "milestone_reached",
        "milestone_reached",
        "returned",
    ]


async def test_two_concurrent_proposals_of_one_worker_place_it_once(exchange: Exchange) -> None:
    worker_id = await exchange.worker()
    demands = [await exchange.demand(), await exchange.demand()]
    answers = await asyncio.gather(*(exchange.propose(worker_id, d) for d in demands))
    assert sorted(a.status_code for a in answers) == [201, 409], [a.text for a in answers]
    refused = next(a for a in answers if a.status_code == 409).json()
    assert refused["field"] == "worker_id"


async def test_twenty_concurrent_acceptances_on_a_headcount_of_five(exchange: Exchange) -> None:
    demand_id = await exchange.demand(headcount=5)
    placements = [
        await exchange.placement(await exchange.worker(sequence), demand_id)
        for sequence in range(20)
    ]
    answers = await asyncio.gather(*(exchange.act(p, "acceptance") for p in placements))
    codes = sorted(a.status_code for a in answers)
    assert codes == [200] * 5 + [409] * 15, [a.text for a in answers if a.status_code != 409]
    demand = await exchange.ok(
        await exchange.client.get(f"/v1/demands/{demand_id}", headers=exchange.shanghai)
    )
    assert (demand["status"], demand["accepted"]) == ("filled", 5)


async def test_acceptance_needs_the_workers_identity_consent(exchange: Exchange) -> None:
    worker_id = await exchange.worker(consent=False)
    placement_id = await exchange.placement(worker_id, await exchange.demand())
    refused = await exchange.act(placement_id, "acceptance")
    assert refused.status_code == 409
    assert "consent" in refused.json()["detail"]


async def test_who_may_do_what(exchange: Exchange, tokens: Tokens) -> None:
    client = exchange.client
    worker_id = await exchange.worker()
    demand_id = await exchange.demand()
    # Only the demand's province proposes; only the origin accepts.
    by_origin = await client.post(
        "/v1/placements",
        json={"worker_id": worker_id, "demand_id": demand_id, "outside_agreement": True},
        headers=exchange.hunan,
    )
    assert by_origin.status_code == 403
    placement_id = await exchange.placement(worker_id, demand_id)
    assert (await exchange.act(placement_id, "acceptance", as_=SHANGHAI)).status_code == 403
    # A third province does not see it; the ministry and observers read aggregates only.
    assert (await exchange.act(placement_id, "acceptance", as_=GUANGDONG)).status_code == 404
    for headers in (tokens.ministry(), tokens.observer()):
        assert (
            await client.get(f"/v1/placements/{placement_id}", headers=headers)
        ).status_code == 403
        assert (await client.get(f"/v1/workers/{worker_id}", headers=headers)).status_code == 403
        assert (await client.post("/v1/demands", json={}, headers=headers)).status_code in (
            403,
            422,
        )
    third = await client.get(f"/v1/placements/{placement_id}", headers=tokens.province(GUANGDONG))
    assert third.status_code == 404
    listed = await exchange.ok(
        await client.get("/v1/placements", headers=tokens.province(GUANGDONG))
    )
    assert listed["items"] == []
    both = [
        await exchange.ok(await client.get("/v1/placements", headers=tokens.province(code)))
        for code in (HUNAN, SHANGHAI)
    ]
    assert [len(b["items"]) for b in both] == [1, 1]


async def test_a_corridor_without_an_active_agreement_needs_outside_agreement(
    exchange: Exchange,
) -> None:
    worker_id = await exchange.worker()
    demand_id = await exchange.demand()
    refused = await exchange.client.post(
        "/v1/placements",
        json={"worker_id": worker_id, "demand_id": demand_id},
        headers=exchange.shanghai,
    )
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "outside_agreement"


async def test_concurrent_proposals_flag_exactly_those_beyond_the_corridors_target(
    exchange: Exchange, settings: PlacementsSettings
) -> None:
    agreement_id = uuid4()
    terms = {
        "title": "湘沪劳务协作",
        "kind": "bilateral",
        "parties": [
            {"province": HUNAN, "role": "sending"},
            {"province": SHANGHAI, "role": "receiving"},
        ],
        "initiator": SHANGHAI,
        "targets": [
            {"period": "2025", "origin": HUNAN, "destination": SHANGHAI, "workers_transferred": 2}
        ],
        "effective_from": "2025-01-01",
    }
    conn = await connect(settings.database_url.get_secret_value())
    try:
        await conn.execute(
            """INSERT INTO agreement_copy
                   (agreement_id, status, kind, revision, terms, corridors, version, updated_at)
               VALUES ($1, 'active', 'bilateral', 1, $2, ARRAY[$3], 5, now())""",
            agreement_id,
            terms,
            f"{HUNAN}>{SHANGHAI}",
        )
    finally:
        await conn.close()
    demand_id = await exchange.demand(headcount=10)
    workers = [await exchange.worker(60 + n, consent=False) for n in range(8)]
    answers = await asyncio.gather(
        *(
            exchange.client.post(
                "/v1/placements",
                json={"worker_id": w, "demand_id": demand_id},
                headers=exchange.shanghai,
            )
            for w in workers
        )
    )
    bodies = [await exchange.ok(a, 201) for a in answers]
    assert {b["agreement_id"] for b in bodies} == {str(agreement_id)}
    assert sorted(b["beyond_target"] for b in bodies) == [False] * 2 + [True] * 6


async def test_published_text_and_strict_values(exchange: Exchange) -> None:
    """What is published carries no personal numbers; booleans are booleans; dates stay near."""
    placement_id = await exchange.placement(await exchange.worker(90), await exchange.demand())
    leaked = await exchange.act(placement_id, "declines", {"reason": "本人电话13521143731另有安排"})
    assert leaked.status_code == 422
    assert leaked.json()["errors"][0]["field"] == "reason"
    assert "13521143731" not in leaked.text
    coerced = await exchange.client.post(
        "/v1/placements",
        json={"worker_id": str(uuid4()), "demand_id": str(uuid4()), "outside_agreement": "off"},
        headers=exchange.shanghai,
    )
    assert coerced.status_code == 422
    assert coerced.json()["errors"][0]["field"] == "outside_agreement"
    far = await exchange.client.post(
        "/v1/demands", json=demand_body(start_date="9999-12-01"), headers=exchange.shanghai
    )
    assert far.status_code == 422
    assert far.json()["errors"][0]["field"] == "start_date"
