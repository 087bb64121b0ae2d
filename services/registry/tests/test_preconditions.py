"""The order of a command's refusals: 404 (no such brand), 403 (may not act), then 428/412
(``If-Match``). A province acting on another's brand is told it may not, whatever version it
read; a refused command writes no brand, history or outbox row."""

from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from laborcoop.common.deps import state_of
from laborcoop.testing import Tokens

HUNAN, HUBEI = "430000", "420000"
STALE = '"99"'


@dataclass(frozen=True)
class Command:
    name: str
    method: str
    path: str
    body: dict[str, Any] | None
    before: tuple[tuple[str, dict[str, Any]], ...] = field(default=())
    """Steps the owner takes first, so that the command is allowed in the brand's state."""
    requires_if_match: bool = False


COMMANDS = [
    Command("patch", "PATCH", "", {"description": "湘绣"}, requires_if_match=True),
    Command("recognise", "POST", "/recognition", {"level": "province"}),
    Command("suspend", "POST", "/suspension", {"reason": "质量投诉核查"}),
    Command(
        "reinstate", "POST", "/reinstatement", None, before=(("/suspension", {"reason": "核查"}),)
    ),
    Command("retire", "POST", "/retirement", {"reason": "运营主体注销"}),
    Command("report", "PUT", "/indicators/2024", {"practitioners": 120}),
]


async def _register(client: httpx.AsyncClient, tokens: Tokens) -> dict[str, Any]:
    answer = await client.post(
        "/v1/brands",
        json={"name": "湘绣绣娘", "province": HUNAN, "category": "skilled_trades"},
        headers=tokens.province(HUNAN),
    )
    assert answer.status_code == 201, answer.text
    brand: dict[str, Any] = answer.json()
    return brand


async def _prepared(client: httpx.AsyncClient, tokens: Tokens, command: Command) -> str:
    """A brand of Hunan's on which ``command`` is allowed; its URL."""
    url = f"/v1/brands/{(await _register(client, tokens))['id']}"
    for path, body in command.before:
        answer = await client.post(url + path, json=body, headers=tokens.province(HUNAN))
        assert answer.status_code == 200, answer.text
    return url


async def _written(app: FastAPI) -> tuple[int, int, int, int]:
    """What a command would write: brand versions, history, outbox and indicator rows."""
    row = await state_of(app).pool.fetchrow(
        """SELECT (SELECT coalesce(sum(version), 0) FROM brands) AS versions,
                  (SELECT count(*) FROM event_history) AS history,
                  (SELECT count(*) FROM outbox) AS outbox,
                  (SELECT count(*) FROM brand_indicators) AS reports"""
    )
    assert row is not None
    return row["versions"], row["history"], row["outbox"], row["reports"]


async def _send(
    client: httpx.AsyncClient, command: Command, url: str, headers: dict[str, str]
) -> httpx.Response:
    return await client.request(
        command.method, url + command.path, json=command.body, headers=headers
    )


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c.name)
async def test_another_province_is_403_whatever_its_if_match(
    client: httpx.AsyncClient, tokens: Tokens, registry_app: FastAPI, command: Command
) -> None:
    url = await _prepared(client, tokens, command)
    before = await _written(registry_app)
    hubei = tokens.province(HUBEI)
    for if_match in (STALE, None, "garbled"):
        headers = hubei if if_match is None else {**hubei, "If-Match": if_match}
        answer = await _send(client, command, url, headers)
        assert answer.status_code == 403, (if_match, answer.text)
        assert answer.headers["content-type"] == "application/problem+json"
    assert await _written(registry_app) == before


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c.name)
async def test_the_owner_with_a_stale_if_match_is_412_and_writes_nothing(
    client: httpx.AsyncClient, tokens: Tokens, registry_app: FastAPI, command: Command
) -> None:
    url = await _prepared(client, tokens, command)
    before = await _written(registry_app)
    hunan = tokens.province(HUNAN)
    stale = await _send(client, command, url, {**hunan, "If-Match": STALE})
    assert stale.status_code == 412, stale.text
    if command.requires_if_match:
        missing = await _send(client, command, url, hunan)
        assert missing.status_code == 428, missing.text
    assert await _written(registry_app) == before


async def test_unknown_brand_is_404_before_403_and_412(
    client: httpx.AsyncClient, tokens: Tokens
) -> None:
    url = "/v1/brands/01a225db-f099-7212-82b2-d9089b9c5ad3"
    for command in COMMANDS:
        answer = await _send(client, command, url, {**tokens.province(HUBEI), "If-Match": STALE})
        assert answer.status_code == 404, command.name


async def test_a_stale_owner_hears_412_before_the_state_conflict(
    client: httpx.AsyncClient, tokens: Tokens, registry_app: FastAPI
) -> None:
    """Retiring a retired brand is a 409, but a caller that read an old version learns that
    first: what it saw is out of date."""
    url = await _prepared(client, tokens, COMMANDS[0])
    hunan = tokens.province(HUNAN)
    retired = await client.post(url + "/retirement", json={"reason": "注销"}, headers=hunan)
    assert retired.status_code == 200
    before = await _written(registry_app)
    again = {"reason": "再次"}
    stale = await client.post(url + "/retirement", json=again, headers={**hunan, "If-Match": '"1"'})
    assert stale.status_code == 412, stale.text
    current = await client.post(
        url + "/retirement", json=again, headers={**hunan, "If-Match": '"2"'}
    )
    assert current.status_code == 409, current.text
    assert await _written(registry_app) == before
