"""The order of a command's refusals: 404 (not visible), 403 (may not act), then 428/412
(``If-Match``), then the linked brands (422). A province that may see an agreement but not act
on it is told so, whatever version it read; a refused command writes no row, history or outbox
entry."""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from laborcoop.common.deps import state_of
from laborcoop.testing import Tokens

SH, YN, HN = "310000", "530000", "430000"
STALE = '"99"'
UNKNOWN_BRAND = "01a225db-f099-7212-82b2-d9089b9c5ad3"

Client = httpx.AsyncClient
Setup = Callable[[Client, Tokens], Awaitable[str]]


def terms(**extra: Any) -> dict[str, Any]:
    return {
        "title": "深化沪滇劳务协作",
        "kind": "bilateral",
        "parties": [{"province": p, "role": "both"} for p in (SH, YN)],
        "effective_from": "2025-03-01",
        **extra,
    }


async def _ok(answer: Awaitable[httpx.Response]) -> dict[str, Any]:
    response = await answer
    assert response.status_code in {200, 201}, response.text
    result: dict[str, Any] = response.json()
    return result


async def drafted(client: Client, tokens: Tokens) -> str:
    created = await _ok(client.post("/v1/agreements", json=terms(), headers=tokens.province(SH)))
    return f"/v1/agreements/{created['id']}"


async def proposed(client: Client, tokens: Tokens) -> str:
    url = await drafted(client, tokens)
    await _ok(client.post(f"{url}/proposal", headers=tokens.province(SH)))
    return url


async def active(client: Client, tokens: Tokens) -> str:
    url = await proposed(client, tokens)
    for party in (SH, YN):
        await _ok(
            client.post(
                f"{url}/signatures", json={"province": party}, headers=tokens.province(party)
            )
        )
    return url


async def amending(client: Client, tokens: Tokens) -> str:
    url = await active(client, tokens)
    await _ok(
        client.post(f"{url}/amendments", json=terms(title="修订一"), headers=tokens.province(SH))
    )
    return url


@dataclass(frozen=True)
class Command:
    name: str
    method: str
    path: str
    body: Callable[[str], dict[str, Any] | None]
    """The request body, given the calling province."""
    owner: tuple[str, Setup]
    """A province that may act, and how to reach a state where it may."""
    outsider: tuple[str, Setup]
    """A province that sees the agreement in that state but may not act on it."""
    requires_if_match: bool = False


def _signature(caller: str) -> dict[str, Any]:
    return {"province": caller}


def _decline(caller: str) -> dict[str, Any]:
    return {"province": caller, "reason": "条款需再议"}


def _termination(caller: str) -> dict[str, Any]:
    return {"reason": "协作任务完成"}


COMMANDS = [
    Command(
        "edit_draft",
        "PUT",
        "",
        lambda caller: terms(areas=["job_matching"]),
        owner=(SH, drafted),
        outsider=(YN, proposed),
        requires_if_match=True,
    ),
    Command("propose", "POST", "/proposal", lambda c: None, (SH, drafted), (YN, proposed)),
    Command("sign", "POST", "/signatures", _signature, (YN, proposed), (HN, amending)),
    Command("decline", "POST", "/declines", _decline, (YN, proposed), (HN, amending)),
    Command(
        "amend", "POST", "/amendments", lambda c: terms(title="修订"), (SH, active), (HN, active)
    ),
    Command("terminate", "POST", "/termination", _termination, (SH, active), (HN, active)),
]


async def _written(app: FastAPI) -> tuple[int, int, int]:
    """What a command would write: agreement versions, history and outbox rows."""
    row = await state_of(app).pool.fetchrow(
        """SELECT (SELECT coalesce(sum(version), 0) FROM agreements) AS versions,
                  (SELECT count(*) FROM event_history) AS history,
                  (SELECT count(*) FROM outbox) AS outbox"""
    )
    assert row is not None
    return row["versions"], row["history"], row["outbox"]


async def _send(
    client: Client, command: Command, url: str, caller: str, tokens: Tokens, if_match: str | None
) -> httpx.Response:
    headers = tokens.province(caller)
    if if_match is not None:
        headers["If-Match"] = if_match
    return await client.request(
        command.method, url + command.path, json=command.body(caller), headers=headers
    )


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c.name)
async def test_a_province_that_may_not_act_is_403_whatever_its_if_match(
    client: Client, tokens: Tokens, agreements_app: FastAPI, command: Command
) -> None:
    caller, setup = command.outsider
    url = await setup(client, tokens)
    before = await _written(agreements_app)
    for if_match in (STALE, None, "garbled"):
        answer = await _send(client, command, url, caller, tokens, if_match)
        assert answer.status_code == 403, (if_match, answer.text)
        assert answer.headers["content-type"] == "application/problem+json"
    assert await _written(agreements_app) == before


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c.name)
async def test_a_province_that_may_act_with_a_stale_if_match_is_412_and_writes_nothing(
    client: Client, tokens: Tokens, agreements_app: FastAPI, command: Command
) -> None:
    caller, setup = command.owner
    url = await setup(client, tokens)
    before = await _written(agreements_app)
    stale = await _send(client, command, url, caller, tokens, STALE)
    assert stale.status_code == 412, stale.text
    if command.requires_if_match:
        missing = await _send(client, command, url, caller, tokens, None)
        assert missing.status_code == 428, missing.text
    assert await _written(agreements_app) == before


async def test_a_party_signing_for_another_is_403_before_its_if_match(
    client: Client, tokens: Tokens
) -> None:
    url = await proposed(client, tokens)
    for if_match in (STALE, None):
        headers = tokens.province(YN) | ({"If-Match": if_match} if if_match else {})
        answer = await client.post(f"{url}/signatures", json={"province": SH}, headers=headers)
        assert answer.status_code == 403, answer.text


async def test_invisible_is_404_before_403_and_412(client: Client, tokens: Tokens) -> None:
    """A draft is the initiator's alone: another party learns nothing of it, not even 403."""
    url = await drafted(client, tokens)
    for command in COMMANDS:
        answer = await _send(client, command, url, YN, tokens, STALE)
        assert answer.status_code == 404, command.name


async def test_an_amendment_by_a_non_party_is_403_before_its_brands_are_checked(
    client: Client, tokens: Tokens, agreements_app: FastAPI
) -> None:
    url = await active(client, tokens)
    before = await _written(agreements_app)
    amended = terms(title="修订", linked_brands=[UNKNOWN_BRAND])
    outsider = await client.post(f"{url}/amendments", json=amended, headers=tokens.province(HN))
    assert outsider.status_code == 403, outsider.text
    stale = await client.post(
        f"{url}/amendments", json=amended, headers={**tokens.province(SH), "If-Match": '"1"'}
    )
    assert stale.status_code == 412, stale.text
    unknown = await client.post(f"{url}/amendments", json=amended, headers=tokens.province(SH))
    assert unknown.status_code == 422, unknown.text
    assert unknown.json()["errors"][0]["code"] == "unknown_brand"
    assert await _written(agreements_app) == before


async def test_a_stale_party_hears_412_before_the_state_conflict(
    client: Client, tokens: Tokens, agreements_app: FastAPI
) -> None:
    """Proposing an agreement already proposed is a 409, but a caller that read the draft's
    version learns first that what it saw is out of date."""
    url = await proposed(client, tokens)
    before = await _written(agreements_app)
    sh = tokens.province(SH)
    stale = await client.post(f"{url}/proposal", headers={**sh, "If-Match": '"1"'})
    assert stale.status_code == 412, stale.text
    current = await client.post(f"{url}/proposal", headers={**sh, "If-Match": '"2"'})
    assert current.status_code == 409, current.text
    assert await _written(agreements_app) == before
