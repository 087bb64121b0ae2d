"""Every registry endpoint against the real database: roles, versions, keys, queries."""

import unicodedata
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from laborcoop.common.deps import state_of
from laborcoop.testing import Tokens

HUNAN, HUBEI, HEBEI = "430000", "420000", "130000"


def brand_body(name: str = "安化黑茶茶艺师", province: str = HUNAN, **extra: Any) -> dict[str, Any]:
    return {"name": name, "province": province, "category": "skilled_trades", **extra}


async def register(client: httpx.AsyncClient, tokens: Tokens, **body: Any) -> dict[str, Any]:
    data = brand_body(**body)
    answer = await client.post("/v1/brands", json=data, headers=tokens.province(data["province"]))
    assert answer.status_code == 201, answer.text
    result: dict[str, Any] = answer.json()
    return result


async def count(app: FastAPI, table: str) -> int:
    value: int = await state_of(app).pool.fetchval(f"SELECT count(*) FROM {table}")
    return value


async def test_register_and_read_with_etag(client: httpx.AsyncClient, tokens: Tokens) -> None:
    body = brand_body(
        city_code="430923",
        occupations=["4-03-02-09"],
        industry={"section": "C", "division": "15"},
        ownership="regional_public",
        development_stage="expansion",
        operator="安化县人社局",
        description="黑茶",
    )
    created = await client.post("/v1/brands", json=body, headers=tokens.province(HUNAN))
    assert created.status_code == 201
    assert created.headers["etag"] == '"1"'
    brand = created.json()
    assert created.headers["location"] == f"/v1/brands/{brand['id']}"
    assert {k: brand[k] for k in body} == body
    assert (brand["status"], brand["level"], brand["version"]) == ("registered", None, 1)

    read = await client.get(f"/v1/brands/{brand['id']}", headers=tokens.observer())
    assert read.status_code == 200
    assert read.headers["etag"] == '"1"'
    assert read.json() == brand


async def test_unknown_brand_is_404(client: httpx.AsyncClient, tokens: Tokens) -> None:
    missing = "01a225db-f099-7212-82b2-d9089b9c5ad3"
    for path in ("", "/history", "/indicators"):
        answer = await client.get(f"/v1/brands/{missing}{path}", headers=tokens.ministry())
        assert answer.status_code == 404, path
    answer = await client.post(
        f"/v1/brands/{missing}/retirement", json={"reason": "无此品牌"}, headers=tokens.ministry()
    )
    assert answer.status_code == 404


async def test_duplicate_name_in_a_province_is_409_but_fine_elsewhere(
    client: httpx.AsyncClient, tokens: Tokens, registry_app: FastAPI
) -> None:
    await register(client, tokens, name="兰州拉面师", province="620000")
    decomposed = unicodedata.normalize("NFD", "兰州拉面师")
    again = await client.post(
        "/v1/brands", json=brand_body(decomposed, "620000"), headers=tokens.province("620000")
    )
    assert again.status_code == 409
    assert again.json()["field"] == "name"
    elsewhere = await client.post(
        "/v1/brands", json=brand_body("兰州拉面师", HEBEI), headers=tokens.province(HEBEI)
    )
    assert elsewhere.status_code == 201
    assert await count(registry_app, "brands") == 2
    assert await count(registry_app, "outbox") == 2


async def test_repeated_idempotency_key_returns_the_first_answer(
    client: httpx.AsyncClient, tokens: Tokens, registry_app: FastAPI
) -> None:
    headers = {**tokens.province(HUNAN), "Idempotency-Key": "brand-registration-0001"}
    first = await client.post("/v1/brands", json=brand_body(), headers=headers)
    second = await client.post("/v1/brands", json=brand_body(), headers=headers)
    assert first.status_code == second.status_code == 201
    assert second.json() == first.json()
    assert second.headers["etag"] == first.headers["etag"]
    assert second.headers["idempotent-replayed"] == "true"
    assert await count(registry_app, "brands") == 1
    assert await count(registry_app, "outbox") == 1

    other = await client.post("/v1/brands", json=brand_body("张家界导游"), headers=headers)
    assert other.status_code == 422
    assert other.json()["errors"][0]["field"] == "Idempotency-Key"
    assert await count(registry_app, "brands") == 1


async def test_idempotency_keys_belong_to_their_client(
    client: httpx.AsyncClient, tokens: Tokens, registry_app: FastAPI
) -> None:
    key = {"Idempotency-Key": "shared-key-0001"}
    for code in (HUNAN, HUBEI):
        answer = await client.post(
            "/v1/brands", json=brand_body(province=code), headers={**tokens.province(code), **key}
        )
        assert answer.status_code == 201
    assert await count(registry_app, "brands") == 2


async def test_patch_needs_a_current_if_match(
    client: httpx.AsyncClient, tokens: Tokens, registry_app: FastAPI
) -> None:
    brand = await register(client, tokens)
    url, hunan = f"/v1/brands/{brand['id']}", tokens.province(HUNAN)
    change = {"development_stage": "growth"}
    missing = await client.patch(url, json=change, headers=hunan)
    assert missing.status_code == 428
    stale = await client.patch(url, json=change, headers={**hunan, "If-Match": '"7"'})
    assert stale.status_code == 412
    garbled = await client.patch(url, json=change, headers={**hunan, "If-Match": "seven"})
    assert garbled.status_code == 422
    done = await client.patch(url, json=change, headers={**hunan, "If-Match": '"1"'})
    assert done.status_code == 200
    assert done.headers["etag"] == '"2"'
    assert done.json()["development_stage"] == "growth"
    replayed_stale = await client.patch(url, json=change, headers={**hunan, "If-Match": '"1"'})
    assert replayed_stale.status_code == 412
    assert await count(registry_app, "outbox") == 2


async def test_patch_can_clear_optional_fields_but_not_the_name(
    client: httpx.AsyncClient, tokens: Tokens
) -> None:
    brand = await register(client, tokens, description="黑茶")
    url = f"/v1/brands/{brand['id']}"
    headers = {**tokens.province(HUNAN), "If-Match": '"1"'}
    cleared = await client.patch(url, json={"description": None}, headers=headers)
    assert cleared.status_code == 200
    assert cleared.json()["description"] is None
    nameless = await client.patch(
        url, json={"name": None}, headers={**tokens.province(HUNAN), "If-Match": '"2"'}
    )
    assert nameless.status_code == 422
    assert nameless.json()["errors"][0]["field"] == "name"


async def test_rename_onto_an_existing_name_is_409(
    client: httpx.AsyncClient, tokens: Tokens
) -> None:
    await register(client, tokens, name="张家界导游")
    brand = await register(client, tokens, name="电力湘军")
    answer = await client.patch(
        f"/v1/brands/{brand['id']}",
        json={"name": "张家界导游"},
        headers={**tokens.province(HUNAN), "If-Match": '"1"'},
    )
    assert answer.status_code == 409


FORBIDDEN_ACTIONS = [
    ("another province registers", "post", "", "hubei", brand_body()),
    ("the ministry registers", "post", "", "ministry", brand_body()),
    ("an observer registers", "post", "", "observer", brand_body()),
    ("another province edits", "patch", "/{id}", "hubei", {"description": "x"}),
    ("the ministry edits", "patch", "/{id}", "ministry", {"description": "x"}),
    (
        "a province recognises nationally",
        "post",
        "/{id}/recognition",
        "hunan",
        {"level": "national"},
    ),
    (
        "the ministry recognises provincially",
        "post",
        "/{id}/recognition",
        "ministry",
        {"level": "province"},
    ),
    ("another province recognises", "post", "/{id}/recognition", "hubei", {"level": "city"}),
    ("an observer recognises", "post", "/{id}/recognition", "observer", {"level": "city"}),
    ("another province suspends", "post", "/{id}/suspension", "hubei", {"reason": "投诉"}),
    ("an observer suspends", "post", "/{id}/suspension", "observer", {"reason": "投诉"}),
    ("another province retires", "post", "/{id}/retirement", "hubei", {"reason": "注销"}),
    ("another province reports", "put", "/{id}/indicators/2024", "hubei", {"practitioners": 1}),
    ("the ministry reports", "put", "/{id}/indicators/2024", "ministry", {"practitioners": 1}),
]


@pytest.mark.parametrize(
    ("action", "method", "path", "who", "body"),
    FORBIDDEN_ACTIONS,
    ids=[a[0] for a in FORBIDDEN_ACTIONS],
)
async def test_forbidden_actions_are_403_and_write_nothing(
    client: httpx.AsyncClient,
    tokens: Tokens,
    registry_app: FastAPI,
    action: str,
    method: str,
    path: str,
    who: str,
    body: dict[str, Any],
) -> None:
    brand = await register(client, tokens)
    callers = {
        "hunan": tokens.province(HUNAN),
        "hubei": tokens.province(HUBEI),
        "ministry": tokens.ministry(),
        "observer": tokens.observer(),
    }
    answer = await client.request(
        method,
        "/v1/brands" + path.format(id=brand["id"]),
        json=body,
        headers={**callers[who], "If-Match": '"1"'},
    )
    assert answer.status_code == 403, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert await count(registry_app, "outbox") == 1


async def test_lifecycle_through_the_api_and_illegal_steps_are_409(
    client: httpx.AsyncClient, tokens: Tokens
) -> None:
    brand = await register(client, tokens)
    url, hunan, ministry = f"/v1/brands/{brand['id']}", tokens.province(HUNAN), tokens.ministry()

    async def step(
        path: str, headers: dict[str, str], body: dict[str, Any] | None = None, expected: int = 200
    ) -> dict[str, Any]:
        answer = await client.post(url + path, json=body, headers=headers)
        assert answer.status_code == expected, answer.text
        result: dict[str, Any] = answer.json()
        return result

    await step("/recognition", hunan, {"level": "province"})
    await step("/recognition", ministry, {"level": "national"})
    await step("/suspension", ministry, {"reason": "质量投诉核查"})
    conflict = await step("/suspension", ministry, {"reason": "再次"}, expected=409)
    assert conflict["current_state"] == "suspended"
    assert conflict["type"].endswith("/invalid-state")
    await step("/reinstatement", hunan, expected=403)
    reinstated = await step("/reinstatement", ministry)
    assert (reinstated["status"], reinstated["level"]) == ("recognised", "national")
    retired = await step("/retirement", hunan, {"reason": "运营主体注销"})
    assert (retired["status"], retired["version"]) == ("retired", 6)
    final = await step("/reinstatement", ministry, expected=409)
    assert final["current_state"] == "retired"


async def test_transitions_honour_if_match_when_sent(
    client: httpx.AsyncClient, tokens: Tokens
) -> None:
    brand = await register(client, tokens)
    answer = await client.post(
        f"/v1/brands/{brand['id']}/recognition",
        json={"level": "city"},
        headers={**tokens.province(HUNAN), "If-Match": '"9"'},
    )
    assert answer.status_code == 412


async def test_indicators_report_correct_and_repeat(
    client: httpx.AsyncClient, tokens: Tokens, registry_app: FastAPI
) -> None:
    brand = await register(client, tokens)
    url, hunan = f"/v1/brands/{brand['id']}/indicators", tokens.province(HUNAN)
    figures = {
        "practitioners": 15000,
        "labour_income_yuan": 1_600_000_000,
        "skilled_share": 0.4,
        "average_monthly_wage_yuan": 6500,
    }
    first = await client.put(f"{url}/2024", json=figures, headers=hunan)
    assert first.status_code == 201
    assert (first.json()["revision"], first.json()["correction"]) == (1, False)
    same = await client.put(f"{url}/2024", json=figures, headers=hunan)
    assert same.status_code == 200
    assert same.json()["revision"] == 1
    corrected = await client.put(
        f"{url}/2024", json={**figures, "practitioners": 15200}, headers=hunan
    )
    assert corrected.status_code == 201
    assert (corrected.json()["revision"], corrected.json()["correction"]) == (2, True)
    quarter = await client.put(f"{url}/2024-Q3", json={"jobs_created": 300}, headers=hunan)
    assert quarter.status_code == 201

    current = (await client.get(url, headers=tokens.observer())).json()
    assert [(r["period"], r["revision"]) for r in current] == [("2024", 2), ("2024-Q3", 1)]
    revisions = (await client.get(f"{url}/2024", headers=tokens.observer())).json()
    assert [r["figures"]["practitioners"] for r in revisions] == [15000, 15200]
    assert await count(registry_app, "outbox") == 4


@pytest.mark.parametrize(
    ("period", "body", "field"),
    [
        ("2024", {"practitioners": -1}, "practitioners"),
        ("2024", {"jobs_created": "many"}, "jobs_created"),
        ("2024", {"people_trained": 1.5}, "people_trained"),
        ("2024", {"labour_income_yuan": -5}, "labour_income_yuan"),
        ("2024", {"output_value_yuan": 10**17}, "output_value_yuan"),
        ("2024", {"average_monthly_wage_yuan": 12}, "average_monthly_wage_yuan"),
        ("2024", {"skilled_share": 1.2}, "skilled_share"),
        ("2024", {"satisfaction": -0.1}, "satisfaction"),
        ("2024", {"practitioners": 1, "colour": "red"}, "colour"),
        ("2024", {}, "body"),
        ("2024", {"source": "只有来源"}, "body"),
        ("2024-Q5", {"practitioners": 1}, "period"),
        ("24", {"practitioners": 1}, "period"),
    ],
)
async def test_bad_indicators_are_422_naming_the_field(
    client: httpx.AsyncClient,
    tokens: Tokens,
    registry_app: FastAPI,
    period: str,
    body: dict[str, Any],
    field: str,
) -> None:
    brand = await register(client, tokens)
    answer = await client.put(
        f"/v1/brands/{brand['id']}/indicators/{period}", json=body, headers=tokens.province(HUNAN)
    )
    assert answer.status_code == 422
    assert field in [e["field"] for e in answer.json()["errors"]]
    assert await count(registry_app, "brand_indicators") == 0


async def test_history_lists_every_event_in_order_with_pages(
    client: httpx.AsyncClient, tokens: Tokens
) -> None:
    brand = await register(client, tokens)
    url, hunan = f"/v1/brands/{brand['id']}", tokens.province(HUNAN)
    await client.post(f"{url}/recognition", json={"level": "city"}, headers=hunan)
    await client.put(f"{url}/indicators/2024", json={"practitioners": 1}, headers=hunan)
    first = (await client.get(f"{url}/history?limit=2", headers=hunan)).json()
    rest = (
        await client.get(f"{url}/history?limit=2&cursor={first['next_cursor']}", headers=hunan)
    ).json()
    entries = first["items"] + rest["items"]
    assert rest["next_cursor"] is None
    assert [(e["version"], e["type"].split(".")[-2]) for e in entries] == [
        (1, "registered"),
        (2, "recognised"),
        (3, "indicators_reported"),
    ]


async def test_list_filters_and_cursor_pagination(
    client: httpx.AsyncClient, tokens: Tokens
) -> None:
    tea = await register(client, tokens, name="安化黑茶茶艺师", occupations=["4-03-02-09"])
    await register(client, tokens, name="张家界导游", category="culture_tourism")
    await register(client, tokens, name="潜江龙虾工", province=HUBEI)
    hunan = tokens.province(HUNAN)
    await client.post(
        f"/v1/brands/{tea['id']}/recognition", json={"level": "province"}, headers=hunan
    )

    async def names(query: str) -> list[str]:
        answer = await client.get(f"/v1/brands?{query}", headers=tokens.observer())
        assert answer.status_code == 200, answer.text
        return [b["name"] for b in answer.json()["items"]]

    assert await names("province=420000") == ["潜江龙虾工"]
    assert await names("category=culture_tourism") == ["张家界导游"]
    assert await names("level=province") == ["安化黑茶茶艺师"]
    assert await names("status=registered&province=430000") == ["张家界导游"]
    assert await names("occupation=4-03-02-09") == ["安化黑茶茶艺师"]
    assert await names("q=龙虾") == ["潜江龙虾工"]
    assert await names("q=%25") == []

    seen: list[str] = []
    cursor = ""
    while True:
        page = (await client.get(f"/v1/brands?limit=1{cursor}", headers=hunan)).json()
        seen += [b["name"] for b in page["items"]]
        if not page["next_cursor"]:
            break
        cursor = f"&cursor={page['next_cursor']}"
    assert sorted(seen) == sorted(["安化黑茶茶艺师", "张家界导游", "潜江龙虾工"])


@pytest.mark.parametrize(
    "query",
    ["limit=0", "limit=201", "cursor=%%%", "category=tea", "occupation=41001", "province=43"],
)
async def test_bad_list_queries_are_422(
    client: httpx.AsyncClient, tokens: Tokens, query: str
) -> None:
    answer = await client.get(f"/v1/brands?{query}", headers=tokens.observer())
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["field"] in query


async def test_indicator_corrections_honour_if_match(
    client: httpx.AsyncClient, tokens: Tokens
) -> None:
    brand = await register(client, tokens)
    url = f"/v1/brands/{brand['id']}/indicators/2024"
    hunan = tokens.province(HUNAN)
    assert (await client.put(url, json={"practitioners": 1}, headers=hunan)).status_code == 201
    stale = await client.put(url, json={"practitioners": 2}, headers={**hunan, "If-Match": '"1"'})
    assert stale.status_code == 412
    fresh = await client.put(url, json={"practitioners": 2}, headers={**hunan, "If-Match": '"2"'})
    assert fresh.status_code == 201


@pytest.mark.parametrize(
    "cursor",
    ["eyJpZCI6Inp6eiJ9", "eyJpZCI6NX0", "eyJpZCI6WzFdfQ", "eyJ4IjoxfQ", "bm90LWpzb24", "%%%"],
    ids=["id-not-uuid", "id-number", "id-list", "no-id", "not-json", "not-base64"],
)
async def test_tampered_cursors_are_422(
    client: httpx.AsyncClient, tokens: Tokens, cursor: str
) -> None:
    brand = await register(client, tokens)
    for url in ("/v1/brands", f"/v1/brands/{brand['id']}/history"):
        answer = await client.get(url, params={"cursor": cursor}, headers=tokens.observer())
        assert answer.status_code == 422, (url, answer.text)
        assert answer.json()["errors"][0]["field"] == "cursor"


@pytest.mark.parametrize(
    ("field", "value"),
    [("name", "安化\x00茶"), ("name", "\u200b\u200b"), ("operator", "\x07bell")],
)
async def test_control_and_invisible_text_is_422(
    client: httpx.AsyncClient, tokens: Tokens, registry_app: FastAPI, field: str, value: str
) -> None:
    answer = await client.post(
        "/v1/brands", json=brand_body(**{field: value}), headers=tokens.province(HUNAN)
    )
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["field"] == field
    search = await client.get("/v1/brands", params={"q": "a\x00b"}, headers=tokens.observer())
    assert search.status_code == 422


@pytest.mark.parametrize("value", [True, "15000", 15000.0, 15000.5])
async def test_counts_are_not_coerced(
    client: httpx.AsyncClient, tokens: Tokens, value: object
) -> None:
    brand = await register(client, tokens)
    answer = await client.put(
        f"/v1/brands/{brand['id']}/indicators/2024",
        json={"practitioners": value},
        headers=tokens.province(HUNAN),
    )
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["field"] == "practitioners"


async def test_unknown_province_filter_is_422(client: httpx.AsyncClient, tokens: Tokens) -> None:
    answer = await client.get("/v1/brands?province=990000", headers=tokens.observer())
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["field"] == "province"
