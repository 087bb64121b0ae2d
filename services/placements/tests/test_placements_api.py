"""Placements through the API on the real database: the whole life of a placement, what the
database decides under concurrency, and who may do what."""

import asyncio

import httpx
import pytest

from laborcoop.common.clock import ManualClock
from laborcoop.testing import Tokens
from services.placements.tests.steps import GUANGDONG, HUNAN, SHANGHAI, Exchange


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
