"""The agreements document says what the service enforces, and the service refuses what the
document does not allow (a number where a date is expected)."""

from typing import Any

import httpx
from fastapi import FastAPI

from laborcoop.contracts.provinces import PROVINCES
from laborcoop.testing import Tokens


def _document(app: FastAPI) -> dict[str, Any]:
    return app.openapi()


def test_province_codes_and_periods_are_enumerated_and_patterned(agreements_app: FastAPI) -> None:
    schemas = _document(agreements_app)["components"]["schemas"]
    target = schemas["TargetIn"]
    assert target["properties"]["origin"]["enum"] == sorted(PROVINCES)
    assert target["properties"]["period"]["pattern"]
    assert schemas["PartyIn"]["properties"]["province"]["enum"] == sorted(PROVINCES)


def test_a_target_names_at_least_one_figure(agreements_app: FastAPI) -> None:
    target = _document(agreements_app)["components"]["schemas"]["TargetIn"]
    assert [branch["required"] for branch in target["anyOf"]] == [
        ["workers_transferred"],
        ["people_trained"],
        ["job_postings"],
    ]


def test_editing_a_draft_requires_if_match(agreements_app: FastAPI) -> None:
    put = _document(agreements_app)["paths"]["/v1/agreements/{agreement_id}"]["put"]
    if_match = next(p for p in put["parameters"] if p["name"] == "If-Match")
    assert if_match["required"] is True
    assert "428" in put["responses"]


async def test_active_on_refuses_a_number(client: httpx.AsyncClient, tokens: Tokens) -> None:
    answer = await client.get(
        "/v1/agreements", params={"active_on": "0"}, headers=tokens.province("430000")
    )
    assert answer.status_code == 422, answer.text
    assert [e["field"] for e in answer.json()["errors"]] == ["active_on"]
