"""Worker records through the API: sealed at rest, masked on the way out, shown in the clear
only to the origin province or with consent, every such read audited; bad input named."""

from datetime import date

import httpx
import pytest

from laborcoop.common.db import Pool, create_pool
from laborcoop.contracts.identifiers import make_resident_id
from laborcoop.placements.settings import PlacementsSettings
from laborcoop.testing import Tokens
from services.placements.tests.steps import GUANGDONG, HUNAN, SHANGHAI, Exchange, worker_body


@pytest.fixture
def exchange(client: httpx.AsyncClient, tokens: Tokens) -> Exchange:
    return Exchange(client, tokens)


async def read(exchange: Exchange, worker_id: str, province: str) -> httpx.Response:
    return await exchange.client.get(
        f"/v1/workers/{worker_id}",
        params={"purpose": "安置核对"},
        headers=exchange.tokens.province(province),
    )


async def test_personal_data_is_sealed_at_rest(
    exchange: Exchange, placements_app: object, settings: PlacementsSettings
) -> None:
    body = worker_body(11)
    worker_id = await exchange.worker(11, consent=False)
    pool: Pool = await create_pool(settings.database_url.get_secret_value(), min_size=1, max_size=1)
    try:
        row = await pool.fetchrow("SELECT * FROM workers WHERE id = $1", worker_id)
    finally:
        await pool.close()
    assert row is not None
    stored = " ".join(str(v) for v in dict(row).values())
    for personal in (body["name"], body["resident_id"], body["phone"]):
        assert personal not in stored
    assert row["sealed_with"] == "k1"
    assert row["name"].startswith("k1:")
    assert (row["sex"], row["birth_year"], row["county"]) == ("male", 1990, "430524")


async def test_masked_without_consent_clear_with_it_and_masked_again_after_withdrawal(
    exchange: Exchange,
) -> None:
    body = worker_body(12)
    worker_id = await exchange.worker(12, consent=False)
    # A province with nothing to do with the worker does not see it at all.
    assert (await read(exchange, worker_id, SHANGHAI)).status_code == 404
    consent = {"province": SHANGHAI, "scope": "contact"}
    url = f"/v1/workers/{worker_id}"
    await exchange.ok(
        await exchange.client.post(f"{url}/consents", json=consent, headers=exchange.hunan)
    )
    shown = await read(exchange, worker_id, SHANGHAI)
    assert shown.headers["cache-control"] == "no-store"
    contact = await exchange.ok(shown)
    assert (contact["name"], contact["phone"]) == (body["name"], body["phone"])
    assert contact["resident_id"] == body["resident_id"][:6] + "*" * 8 + body["resident_id"][-4:]
    assert contact["clear"] == ["name", "phone"]
    assert (contact["poverty_alleviation"], contact["consents"], contact["sex"]) == (None,) * 3
    await exchange.ok(
        await exchange.client.post(
            f"{url}/consent-withdrawals", json=consent, headers=exchange.hunan
        )
    )
    masked = await exchange.ok(await read(exchange, worker_id, SHANGHAI))
    assert masked["clear"] == []
    assert masked["name"] == body["name"][0] + "*" * (len(body["name"]) - 1)
    assert masked["phone"] == body["phone"][:3] + "****" + body["phone"][-4:]
    own = await exchange.ok(await read(exchange, worker_id, HUNAN))
    assert (own["resident_id"], own["poverty_alleviation"]) == (body["resident_id"], True)
    assert len(own["consents"]) == 1
    assert own["consents"][0]["withdrawn_at"] is not None
    reads = await exchange.ok(await exchange.client.get(f"{url}/reads", headers=exchange.hunan))
    assert [(r["province"], r["fields"], r["purpose"]) for r in reads["items"]] == [
        (SHANGHAI, ["name", "phone"], "安置核对"),
        (HUNAN, ["name", "resident_id", "phone", "poverty_alleviation"], "安置核对"),
    ]
    assert (await exchange.client.get(f"{url}/reads", headers=exchange.shanghai)).status_code == 404


async def test_lists_are_masked_and_only_of_the_own_province(exchange: Exchange) -> None:
    await exchange.worker(13, consent=False)
    listed = await exchange.ok(await exchange.client.get("/v1/workers", headers=exchange.hunan))
    assert [w["clear"] for w in listed["items"]] == [[]]
    assert "*" in listed["items"][0]["resident_id"]
    other = await exchange.ok(
        await exchange.client.get("/v1/workers", headers=exchange.tokens.province(GUANGDONG))
    )
    assert other["items"] == []
    filtered = await exchange.ok(
        await exchange.client.get(
            "/v1/workers", params={"availability": "placed"}, headers=exchange.hunan
        )
    )
    assert filtered["items"] == []


async def test_a_second_registration_of_one_person_is_a_conflict(exchange: Exchange) -> None:
    await exchange.worker(14, consent=False)
    again = worker_body(14, name="另一个名字", phone="13900001111")
    answer = await exchange.client.post("/v1/workers", json=again, headers=exchange.hunan)
    assert answer.status_code == 409
    assert answer.json()["field"] == "resident_id"
    lowercase = worker_body(14)
    lowercase["resident_id"] = lowercase["resident_id"].lower()
    if lowercase["resident_id"] != worker_body(14)["resident_id"]:
        answer = await exchange.client.post("/v1/workers", json=lowercase, headers=exchange.hunan)
        assert answer.status_code == 409


BORN = date(1990, 5, 17)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("resident_id", "43052419900517123"),  # 17 characters
        ("resident_id", "430524199002301234"),  # 30 February
        ("resident_id", "990524199005171234"),  # no province 99
        ("resident_id", make_resident_id("430524", BORN, 3)[:-1] + "0"),  # check character
        ("resident_id", make_resident_id("440105", BORN, 3)),  # a county of another province
        ("phone", "1381234567"),
        ("phone", "23812345678"),
        ("occupations", ["4-10-1-01"]),
        ("education", "kindergarten"),
        (
            "certificates",
            [{"kind": "vocational_skill", "name": "育婴员", "issuer": "x", "year": 1}],
        ),
    ],
)
async def test_invalid_input_is_a_422_naming_the_field(
    exchange: Exchange, field: str, value: object
) -> None:
    body = worker_body(15)
    body[field] = value
    answer = await exchange.client.post("/v1/workers", json=body, headers=exchange.hunan)
    assert answer.status_code == 422, answer.text
    named = {e["field"].split(".")[0] for e in answer.json()["errors"]}
    assert named == {field}
    if field == "resident_id":
        assert str(value) not in answer.text  # a refused value is never echoed


async def test_an_inverted_wage_range_is_a_422(exchange: Exchange) -> None:
    body = worker_body(15, wage_min=8000, wage_max=5000)
    answer = await exchange.client.post("/v1/workers", json=body, headers=exchange.hunan)
    assert answer.status_code == 422
    assert "wage_max" in answer.text


async def test_only_provinces_register_and_read_records(exchange: Exchange, tokens: Tokens) -> None:
    worker_id = await exchange.worker(16, consent=False)
    for headers in (tokens.ministry(), tokens.observer()):
        assert (
            await exchange.client.post("/v1/workers", json=worker_body(17), headers=headers)
        ).status_code == 403
        assert (
            await exchange.client.get(f"/v1/workers/{worker_id}", headers=headers)
        ).status_code == 403
    patch = await exchange.client.patch(
        f"/v1/workers/{worker_id}",
        json={"occupations": ["4-10-01-02"]},
        headers={**exchange.shanghai, "If-Match": '"1"'},
    )
    assert patch.status_code == 404
