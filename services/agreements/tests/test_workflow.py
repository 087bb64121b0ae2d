"""The signing workflow through the API against the real database."""

import asyncio
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from laborcoop.common.deps import state_of
from laborcoop.common.periodic import Periodic
from laborcoop.testing import Tokens, assert_routes_document_problems

SH, YN, HN = "310000", "530000", "430000"
YELLOW_RIVER = ["370000", "620000", "640000", "410000", "610000"]


def scheduler(app: FastAPI) -> Periodic:
    """The agreements service's scheduler (its one periodic worker)."""
    worker = state_of(app).workers.others[0]
    assert isinstance(worker, Periodic)
    return worker


def body(*members: str, kind: str = "bilateral", **extra: Any) -> dict[str, Any]:
    return {
        "title": "深化沪滇劳务协作",
        "kind": kind,
        "parties": [{"province": p, "role": "both"} for p in members],
        "effective_from": "2025-03-01",
        **extra,
    }


async def draft(
    client: httpx.AsyncClient, tokens: Tokens, *members: str, **extra: Any
) -> dict[str, Any]:
    answer = await client.post(
        "/v1/agreements", json=body(*members, **extra), headers=tokens.province(members[0])
    )
    assert answer.status_code == 201, answer.text
    result: dict[str, Any] = answer.json()
    return result


async def post(
    client: httpx.AsyncClient,
    tokens: Tokens,
    agreement: dict[str, Any],
    path: str,
    who: str,
    payload: dict[str, Any] | None = None,
) -> httpx.Response:
    return await client.post(
        f"/v1/agreements/{agreement['id']}/{path}", json=payload, headers=tokens.province(who)
    )


async def events_of(app: FastAPI, agreement_id: str) -> list[str]:
    rows = await state_of(app).pool.fetch(
        "SELECT type FROM event_history WHERE subject = $1 ORDER BY version", agreement_id
    )
    return [r["type"].split(".")[-2] for r in rows]


async def test_bilateral_workflow(
    client: httpx.AsyncClient, tokens: Tokens, agreements_app: FastAPI
) -> None:
    agreement = await draft(client, tokens, SH, YN)
    assert agreement["status"] == "draft"
    assert (
        await client.get(f"/v1/agreements/{agreement['id']}", headers=tokens.province(YN))
    ).status_code == 404
    edited = await client.put(
        f"/v1/agreements/{agreement['id']}",
        json=body(SH, YN, areas=["job_matching"]),
        headers={**tokens.province(SH), "If-Match": '"1"'},
    )
    assert edited.status_code == 200
    assert edited.json()["terms"]["areas"] == ["job_matching"]

    assert (await post(client, tokens, agreement, "proposal", YN)).status_code == 404
    proposed = await post(client, tokens, agreement, "proposal", SH)
    assert proposed.json()["status"] == "proposed"
    assert proposed.json()["awaiting"] == [SH, YN]
    seen = await client.get(f"/v1/agreements/{agreement['id']}", headers=tokens.province(YN))
    assert seen.status_code == 200
    assert (
        await client.get(f"/v1/agreements/{agreement['id']}", headers=tokens.province(HN))
    ).status_code == 404

    assert (
        await post(client, tokens, agreement, "signatures", YN, {"province": YN})
    ).status_code == 200
    twice = await post(client, tokens, agreement, "signatures", YN, {"province": YN})
    assert twice.status_code == 409
    assert twice.json()["current_state"] == "proposed"
    for_other = await post(client, tokens, agreement, "signatures", YN, {"province": SH})
    assert for_other.status_code == 403
    outsider = await post(client, tokens, agreement, "signatures", HN, {"province": HN})
    assert outsider.status_code == 404
    done = await post(client, tokens, agreement, "signatures", SH, {"province": SH})
    assert done.json()["status"] == "active"
    public = await client.get(f"/v1/agreements/{agreement['id']}", headers=tokens.observer())
    assert public.status_code == 200
    assert await events_of(agreements_app, agreement["id"]) == [
        "drafted",
        "draft_updated",
        "proposed",
        "signed",
        "signed",
        "activated",
    ]


async def test_five_party_alliance_with_a_decline_an_amendment_and_a_termination(
    client: httpx.AsyncClient, tokens: Tokens, agreements_app: FastAPI
) -> None:
    lead, *others = YELLOW_RIVER
    agreement = await draft(
        client, tokens, *YELLOW_RIVER, kind="alliance", title="沿黄9省区劳务协作联盟"
    )
    await post(client, tokens, agreement, "proposal", lead)
    await post(client, tokens, agreement, "signatures", others[0], {"province": others[0]})
    declined = await post(
        client,
        tokens,
        agreement,
        "declines",
        others[1],
        {"province": others[1], "reason": "目标需调整"},
    )
    assert (declined.status_code, declined.json()["status"]) == (200, "draft")
    await post(client, tokens, agreement, "proposal", lead)
    for member in YELLOW_RIVER:
        answer = await post(client, tokens, agreement, "signatures", member, {"province": member})
        assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "active"

    outsider = await post(
        client, tokens, agreement, "amendments", HN, body(*YELLOW_RIVER, kind="alliance")
    )
    assert outsider.status_code == 403
    amended_terms = body(*YELLOW_RIVER, kind="alliance", title="沿黄9省区劳务协作联盟（2025）")
    amendment = await post(client, tokens, agreement, "amendments", others[2], amended_terms)
    assert amendment.status_code == 200, amendment.text
    assert amendment.json()["amendment"]["title"] == "沿黄9省区劳务协作联盟（2025）"
    assert amendment.json()["terms"]["title"] == "沿黄9省区劳务协作联盟"
    for member in YELLOW_RIVER:
        answer = await post(client, tokens, agreement, "signatures", member, {"province": member})
    assert (answer.json()["revision"], answer.json()["terms"]["title"]) == (
        2,
        "沿黄9省区劳务协作联盟（2025）",
    )

    ended = await post(client, tokens, agreement, "termination", others[3], {"reason": "联盟重组"})
    assert ended.json()["status"] == "terminated"
    again = await post(client, tokens, agreement, "termination", lead, {"reason": "再次"})
    assert again.status_code == 409
    history = (
        await client.get(
            f"/v1/agreements/{agreement['id']}/history?limit=200", headers=tokens.observer()
        )
    ).json()["items"]
    kinds = [h["type"].split(".")[-2] for h in history]
    assert kinds.count("activated") == 1
    assert kinds.count("amended") == 1
    assert kinds[-1] == "terminated"


async def test_concurrent_signatures_give_exactly_one_activation(
    client: httpx.AsyncClient, tokens: Tokens, agreements_app: FastAPI
) -> None:
    agreement = await draft(client, tokens, *YELLOW_RIVER, kind="alliance")
    await post(client, tokens, agreement, "proposal", YELLOW_RIVER[0])
    answers = await asyncio.gather(
        *(
            post(client, tokens, agreement, "signatures", member, {"province": member})
            for member in YELLOW_RIVER
        )
    )
    assert [a.status_code for a in answers] == [200] * 5
    events = await events_of(agreements_app, agreement["id"])
    assert events.count("signed") == 5
    assert events.count("activated") == 1
    assert events[-1] == "activated"


async def test_drafts_and_proposals_stay_private_in_lists(
    client: httpx.AsyncClient, tokens: Tokens
) -> None:
    await draft(client, tokens, SH, YN, title="草稿")
    proposal = await draft(client, tokens, HN, YN, title="提案")
    await post(client, tokens, proposal, "proposal", HN)

    async def titles(who: dict[str, str], query: str = "") -> list[str]:
        page = (await client.get(f"/v1/agreements{query}", headers=who)).json()
        return [a["terms"]["title"] for a in page["items"]]

    assert await titles(tokens.province(SH)) == ["草稿"]
    assert await titles(tokens.province(YN)) == ["提案"]
    assert await titles(tokens.province(HN)) == ["提案"]
    assert await titles(tokens.ministry()) == []
    assert await titles(tokens.province(YN), "?status=draft") == []


async def test_queries_filter_public_agreements(client: httpx.AsyncClient, tokens: Tokens) -> None:
    target = {"period": "2025", "origin": YN, "destination": SH, "workers_transferred": 5000}
    first = await draft(client, tokens, SH, YN, areas=["joint_training"], targets=[target])
    second = await draft(
        client,
        tokens,
        *YELLOW_RIVER,
        kind="alliance",
        title="沿黄",
        effective_from="2025-03-01",
        effective_to="2025-12-31",
    )
    for agreement, members in ((first, [SH, YN]), (second, YELLOW_RIVER)):
        await post(client, tokens, agreement, "proposal", members[0])
        for member in members:
            await post(client, tokens, agreement, "signatures", member, {"province": member})

    async def titles(query: str) -> list[str]:
        answer = await client.get(f"/v1/agreements?{query}", headers=tokens.observer())
        assert answer.status_code == 200, answer.text
        return sorted(a["terms"]["title"] for a in answer.json()["items"])

    assert await titles("party=370000") == ["沿黄"]
    assert await titles("kind=bilateral") == ["深化沪滇劳务协作"]
    assert await titles("area=joint_training") == ["深化沪滇劳务协作"]
    assert await titles(f"origin={YN}&destination={SH}") == ["深化沪滇劳务协作"]
    assert await titles(f"origin={SH}&destination={YN}") == []
    assert await titles(f"origin={YN}") == ["深化沪滇劳务协作"]
    assert await titles(f"destination={YN}") == []
    assert await titles("active_on=2026-06-01") == ["深化沪滇劳务协作"]
    assert await titles("active_on=2025-06-01") == ["沿黄", "深化沪滇劳务协作"]
    first_page = (
        await client.get("/v1/agreements?status=active&limit=1", headers=tokens.observer())
    ).json()
    rest = (
        await client.get(
            f"/v1/agreements?status=active&limit=1&cursor={first_page['next_cursor']}",
            headers=tokens.observer(),
        )
    ).json()
    assert len(first_page["items"]) == len(rest["items"]) == 1
    assert rest["next_cursor"] is None
    assert first_page["items"][0]["id"] != rest["items"][0]["id"]


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"kind": "treaty"}, "kind"),
        ({"parties": [{"province": SH, "role": "both"}]}, "parties"),
        (
            {"parties": [{"province": SH, "role": "boss"}, {"province": YN, "role": "both"}]},
            "parties.0.role",
        ),
        (
            {"parties": [{"province": "990000", "role": "both"}, {"province": YN, "role": "both"}]},
            "parties.0.province",
        ),
        ({"areas": ["tea"]}, "areas.0"),
        ({"areas": ["job_matching", "job_matching"]}, "areas"),
        ({"targets": [{"period": "2025", "origin": YN, "destination": SH}]}, "targets.0"),
        (
            {"targets": [{"period": "2025", "origin": YN, "destination": HN, "job_postings": 1}]},
            "targets.0.destination",
        ),
        ({"projects": [{"name": "培训", "amount_yuan": -1}]}, "projects.0.amount_yuan"),
        ({"effective_from": "2025-13-01"}, "effective_from"),
        ({"effective_to": "2024-01-01"}, "effective_to"),
        ({"title": "x"}, "title"),
        ({"signed_by": "me"}, "signed_by"),
        ({"linked_brands": ["01a225db-f099-7212-82b2-d9089b9c5ad3"]}, "linked_brands.0"),
    ],
)
async def test_bad_terms_are_422_naming_the_field(
    client: httpx.AsyncClient,
    tokens: Tokens,
    agreements_app: FastAPI,
    payload: dict[str, Any],
    field: str,
) -> None:
    answer = await client.post(
        "/v1/agreements", json={**body(SH, YN), **payload}, headers=tokens.province(SH)
    )
    assert answer.status_code == 422, answer.text
    assert field in [e["field"] for e in answer.json()["errors"]]
    assert await state_of(agreements_app).pool.fetchval("SELECT count(*) FROM agreements") == 0


async def test_only_provinces_draft_and_only_as_a_party(
    client: httpx.AsyncClient, tokens: Tokens
) -> None:
    ministry = await client.post("/v1/agreements", json=body(SH, YN), headers=tokens.ministry())
    assert ministry.status_code == 403
    outsider = await client.post("/v1/agreements", json=body(SH, YN), headers=tokens.province(HN))
    assert outsider.status_code == 422
    assert outsider.json()["errors"][0]["field"] == "initiator"


async def test_edit_needs_if_match_and_a_repeated_key_replays(
    client: httpx.AsyncClient, tokens: Tokens, agreements_app: FastAPI
) -> None:
    agreement = await draft(client, tokens, SH, YN)
    url = f"/v1/agreements/{agreement['id']}"
    missing = await client.put(url, json=body(SH, YN), headers=tokens.province(SH))
    assert missing.status_code == 428
    stale = await client.put(
        url, json=body(SH, YN), headers={**tokens.province(SH), "If-Match": '"5"'}
    )
    assert stale.status_code == 412
    key = {**tokens.province(SH), "Idempotency-Key": "propose-0000001"}
    first = await client.post(f"{url}/proposal", headers=key)
    again = await client.post(f"{url}/proposal", headers=key)
    assert (first.status_code, again.status_code) == (200, 200)
    assert again.headers["idempotent-replayed"] == "true"
    assert await events_of(agreements_app, agreement["id"]) == ["drafted", "proposed"]


def test_openapi_documents_every_route_and_its_problems(agreements_app: FastAPI) -> None:
    assert_routes_document_problems(
        agreements_app,
        expected_routes=10,
        resource="{agreement_id}",
        commands_answer={"403", "409", "412"},
    )
    assert agreements_app.openapi()["components"]["schemas"]["TermsIn"]["examples"]


async def active_bilateral(
    client: httpx.AsyncClient, tokens: Tokens, **extra: Any
) -> dict[str, Any]:
    agreement = await draft(client, tokens, SH, YN, **extra)
    await post(client, tokens, agreement, "proposal", SH)
    for member in (SH, YN):
        answer = await post(client, tokens, agreement, "signatures", member, {"province": member})
    result: dict[str, Any] = answer.json()
    return result


async def test_an_amendment_under_signature_is_seen_by_the_parties_only(
    client: httpx.AsyncClient, tokens: Tokens
) -> None:
    agreement = await active_bilateral(client, tokens)
    await post(client, tokens, agreement, "amendments", YN, body(SH, YN, title="保密的修订"))
    url = f"/v1/agreements/{agreement['id']}"
    party = (await client.get(url, headers=tokens.province(YN))).json()
    outsider = (await client.get(url, headers=tokens.province(HN))).json()
    assert party["amendment"]["title"] == "保密的修订"
    assert party["awaiting"] == [SH, YN]
    assert (outsider["amendment"], outsider["awaiting"], outsider["amendment_signatures"]) == (
        None,
        [],
        [],
    )
    assert [s["province"] for s in outsider["signatures"]] == [SH, YN]
    listed = (await client.get("/v1/agreements", headers=tokens.province(HN))).json()["items"]
    assert [a["amendment"] for a in listed] == [None]


async def test_history_shows_each_caller_only_what_it_could_see(
    client: httpx.AsyncClient, tokens: Tokens
) -> None:
    agreement = await draft(client, tokens, SH, YN)
    await client.put(
        f"/v1/agreements/{agreement['id']}",
        json=body(SH, YN, title="草稿二"),
        headers={**tokens.province(SH), "If-Match": '"1"'},
    )
    await post(client, tokens, agreement, "proposal", SH)
    for member in (SH, YN):
        await post(client, tokens, agreement, "signatures", member, {"province": member})

    async def kinds(who: dict[str, str]) -> list[str]:
        page = (await client.get(f"/v1/agreements/{agreement['id']}/history", headers=who)).json()
        return [e["type"].split(".")[-2] for e in page["items"]]

    assert await kinds(tokens.province(SH)) == [
        "drafted",
        "draft_updated",
        "proposed",
        "signed",
        "signed",
        "activated",
    ]
    assert await kinds(tokens.province(YN)) == ["proposed", "signed", "signed", "activated"]
    assert await kinds(tokens.province(HN)) == ["activated"]


async def test_active_on_includes_agreements_that_have_ended_since(
    client: httpx.AsyncClient, tokens: Tokens, clock: Any, agreements_app: FastAPI
) -> None:
    agreement = await active_bilateral(client, tokens, effective_to="2025-03-10")
    clock.advance(days=20)
    assert await scheduler(agreements_app).run_once() == 1
    ended = (
        await client.get(f"/v1/agreements/{agreement['id']}", headers=tokens.observer())
    ).json()
    assert ended["status"] == "expired"
    found = (
        await client.get("/v1/agreements?active_on=2025-03-05", headers=tokens.observer())
    ).json()["items"]
    assert [a["id"] for a in found] == [agreement["id"]]
    later = (
        await client.get("/v1/agreements?active_on=2025-03-11", headers=tokens.observer())
    ).json()["items"]
    assert later == []


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"effective_from": 0}, "effective_from"),
        ({"effective_from": "2025-03-01T00:00:00"}, "effective_from"),
        ({"projects": [{"name": "培训", "amount_yuan": "5000"}]}, "projects.0.amount_yuan"),
        (
            {
                "targets": [
                    {"period": "2025", "origin": YN, "destination": SH, "workers_transferred": True}
                ]
            },
            "targets.0.workers_transferred",
        ),
        ({"title": "沪滇\x00"}, "title"),
    ],
)
async def test_values_are_not_coerced(
    client: httpx.AsyncClient, tokens: Tokens, payload: dict[str, Any], field: str
) -> None:
    answer = await client.post(
        "/v1/agreements", json={**body(SH, YN), **payload}, headers=tokens.province(SH)
    )
    assert answer.status_code == 422
    assert field in [e["field"] for e in answer.json()["errors"]]
