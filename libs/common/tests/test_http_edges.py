"""The edges every service gets from the app factory: strict JSON bodies (415, duplicate keys,
depth), bounded cursors and fingerprints, If-Match as RFC 9110 means it, complete ``Allow``, and
no query parameter a route does not declare.

The routes below are declared on a plain ``APIRouter``, as the services declare theirs, so these
tests show that ``create_service_app`` applies the rules to any service's routes.
"""

import base64
import json
import re
from collections.abc import AsyncIterator
from contextlib import suppress
from typing import Annotated, Any
from uuid import UUID, uuid4

import httpx
import pytest
from fastapi import APIRouter, Depends, FastAPI, Query, Request, Response
from fastapi.responses import JSONResponse
from hypothesis import given
from hypothesis import settings as examples
from hypothesis import strategies as st

from laborcoop.common.app import create_service_app
from laborcoop.common.auth import CurrentPrincipal
from laborcoop.common.errors import Forbidden, InvalidInput, problem_responses
from laborcoop.common.idempotency import Command
from laborcoop.common.inputs import ApiModel, decode_json, forwards_its_query
from laborcoop.common.pagination import Cursor, cursor_id
from laborcoop.common.settings import ServiceSettings
from laborcoop.common.spec import ServiceSpec, no_use_cases
from laborcoop.common.unit_of_work import UnitOfWork
from laborcoop.common.versioning import IF_MATCH_PATTERN, IfMatch, check_version, if_match_allows
from laborcoop.testing import Stack, Tokens, running, settings_for
from laborcoop.testing.databases import Databases

CURRENT_VERSION = 3
HUNAN = "430000"

router = APIRouter(prefix="/v1/things", tags=["things"])


class ThingIn(ApiModel):
    name: str
    data: dict[str, Any] | None = None


def _echo(status_code: int) -> Any:
    def render(value: Any) -> Response:
        return JSONResponse(value, status_code=status_code)

    return render


@router.post("", status_code=201, summary="Create", responses=problem_responses())
async def create_thing(body: ThingIn, command: Command) -> Response:
    async def work(uow: UnitOfWork) -> Any:
        return {"name": body.name, "n": await uow.fetchval("SELECT 1")}

    return await command.execute(work, _echo(201))


@router.get("", summary="List", responses=problem_responses())
async def list_things(principal: CurrentPrincipal, cursor: Cursor = None) -> dict[str, Any]:
    after = cursor_id(cursor)
    return {"after": str(after) if after else None}


@router.get("/{thing_id}", summary="One", responses=problem_responses())
async def get_thing(thing_id: UUID, principal: CurrentPrincipal) -> dict[str, Any]:
    return {"id": str(thing_id)}


@router.patch("/{thing_id}", summary="Change", responses=problem_responses())
async def change_thing(
    thing_id: UUID, body: ThingIn, principal: CurrentPrincipal, if_match: IfMatch = None
) -> dict[str, Any]:
    check_version(if_match, CURRENT_VERSION)
    return {"id": str(thing_id), "name": body.name}


@router.post("/{thing_id}/touch", summary="Touch (no body)", responses=problem_responses())
async def touch_thing(thing_id: UUID, command: Command) -> Response:
    async def work(uow: UnitOfWork) -> Any:
        return {"touched": str(thing_id)}

    return await command.execute(work, _echo(200))


def page_size(size: Annotated[int, Query(alias="page-size", ge=1)] = 10) -> int:
    return size


@router.get("/{thing_id}/related", summary="Related", responses=problem_responses())
async def related_things(
    thing_id: UUID,
    principal: CurrentPrincipal,
    size: Annotated[int, Depends(page_size)],
    name: str | None = None,
) -> dict[str, Any]:
    return {"size": size, "name": name}


@router.api_route(
    "/{thing_id}/elsewhere/{rest:path}",
    methods=["GET", "POST"],
    include_in_schema=False,
    dependencies=[Depends(forwards_its_query)],
)
async def elsewhere(request: Request, thing_id: UUID, rest: str) -> dict[str, Any]:
    return {"query": request.scope["query_string"].decode()}


SPEC = ServiceSpec[ServiceSettings, None](
    name="edges",
    title="edges",
    version="0",
    description="test app",
    routers=[router],
    migration_package="laborcoop.common.sql",
    build=no_use_cases,
)


@pytest.fixture
async def app(stack: Stack, databases: Databases, topic_prefix: str, tokens: Tokens) -> FastAPI:
    settings = settings_for(
        ServiceSettings,
        stack,
        topic_prefix=topic_prefix,
        database_url=await databases.fresh(),
        run_workers=False,
    )
    return create_service_app(SPEC, settings, keys=tokens.keyset())


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with running(app) as client:
        yield client


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def cursor_of(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def assert_problem(answer: httpx.Response, status: int, field: str | None = None) -> None:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    if field is not None:
        assert field in [e["field"] for e in answer.json()["errors"]], answer.json()


# --- If-Match (RFC 9110 §13.1.1) ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("if_match", "status"),
    [
        ('"3"', 200),
        ('W/"3"', 412),
        ("*", 200),
        ('"1", "3"', 200),
        ('"1",W/"3"', 412),
        ('"1", "2"', 412),
        ("three", 422),
        ('"3" "4"', 422),
    ],
    ids=["strong", "weak", "any", "list", "list-weak", "list-stale", "garbled", "no-comma"],
)
async def test_if_match_uses_strong_comparison_star_and_lists(
    client: httpx.AsyncClient, tokens: Tokens, if_match: str, status: int
) -> None:
    answer = await client.patch(
        f"/v1/things/{uuid4()}",
        json={"name": "x"},
        headers={**tokens.province(HUNAN), "If-Match": if_match},
    )
    assert answer.status_code == status, answer.text


@examples(max_examples=100, deadline=None, derandomize=True)
@given(st.from_regex(IF_MATCH_PATTERN, fullmatch=True))
def test_every_if_match_the_document_allows_is_understood(value: str) -> None:
    """What OpenAPI documents for If-Match never answers 422: it matches or it is a 412."""
    assert if_match_allows(value, CURRENT_VERSION) in (True, False)


@pytest.mark.parametrize("value", ['"3"', 'W/"3"', "*", '"1", W/"2",\t"3"', '""'])
def test_the_documented_if_match_pattern_takes_tags_lists_and_star(value: str) -> None:
    assert re.fullmatch(IF_MATCH_PATTERN, value)


async def test_required_if_match_is_required_in_openapi_and_the_use_case_answers_428(
    tokens: Tokens, stack: Stack, databases: Databases, topic_prefix: str
) -> None:
    """Documented as required, but absent it reaches the route as ``None``, so a caller who may
    not act hears 403 first, and the owner without ``If-Match`` hears 428 (not a 422)."""
    from laborcoop.common.versioning import RequiredIfMatch  # noqa: PLC0415

    strict = APIRouter(prefix="/v1/strict")

    @strict.put("/{thing_id}", summary="Replace", responses=problem_responses())
    async def replace(
        thing_id: UUID, principal: CurrentPrincipal, if_match: RequiredIfMatch
    ) -> dict[str, str]:
        if principal.province != HUNAN:
            raise Forbidden("only Hunan")
        check_version(if_match, CURRENT_VERSION, required=True)
        return {"id": str(thing_id)}

    spec = ServiceSpec[ServiceSettings, None](
        name="strict",
        title="strict",
        version="0",
        description="",
        routers=[strict],
        migration_package="x",
        build=no_use_cases,
    )
    settings = settings_for(
        ServiceSettings,
        stack,
        topic_prefix=topic_prefix,
        database_url=await databases.fresh(),
        run_workers=False,
    )
    app = create_service_app(spec, settings, keys=tokens.keyset())
    parameters = app.openapi()["paths"]["/v1/strict/{thing_id}"]["put"]["parameters"]
    (if_match,) = [p for p in parameters if p["name"] == "If-Match"]
    assert (if_match["in"], if_match["required"]) == ("header", True)
    assert if_match["schema"] == {"type": "string", "pattern": IF_MATCH_PATTERN}
    url = f"/v1/strict/{uuid4()}"
    async with running(app) as client:
        assert_problem(await client.put(url, headers=tokens.province("420000")), 403)
        assert_problem(await client.put(url, headers=tokens.province(HUNAN)), 428)
        stale = await client.put(url, headers={**tokens.province(HUNAN), "If-Match": '"1"'})
        assert_problem(stale, 412)
        current = await client.put(url, headers={**tokens.province(HUNAN), "If-Match": '"3"'})
        assert current.status_code == 200


def test_optional_headers_are_never_null_in_openapi(app: FastAPI) -> None:
    document = app.openapi()
    for path, method in (("/v1/things/{thing_id}", "patch"), ("/v1/things", "post")):
        for parameter in document["paths"][path][method]["parameters"]:
            if parameter["in"] == "header":
                assert parameter["required"] is False
                assert parameter["schema"]["type"] == "string", parameter
                assert "anyOf" not in parameter["schema"], parameter
                if parameter["name"] == "If-Match":
                    assert parameter["schema"]["pattern"] == IF_MATCH_PATTERN


# --- Bodies: media type, duplicate keys, depth -------------------------------------------------


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
async def test_a_body_that_is_not_json_is_a_415(
    client: httpx.AsyncClient, tokens: Tokens, content_type: str | None
) -> None:
    headers = tokens.province(HUNAN)
    if content_type is not None:
        headers["Content-Type"] = content_type
    answer = await client.post("/v1/things", content=b'{"name": "x"}', headers=headers)
    assert_problem(answer, 415)
    assert answer.headers["accept-post"] == "application/json"


async def test_json_media_types_with_parameters_and_suffixes_are_accepted(
    client: httpx.AsyncClient, tokens: Tokens
) -> None:
    for content_type in ("application/json; charset=utf-8", "application/merge-patch+json"):
        answer = await client.post(
            "/v1/things",
            content=b'{"name": "x"}',
            headers={**tokens.province(HUNAN), "Content-Type": content_type},
        )
        assert answer.status_code == 201, (content_type, answer.text)


async def test_duplicate_keys_are_a_422_naming_the_key(
    client: httpx.AsyncClient, tokens: Tokens
) -> None:
    answer = await client.post(
        "/v1/things",
        content=b'{"name": "first", "name": "second"}',
        headers={**tokens.province(HUNAN), "Content-Type": "application/json"},
    )
    assert_problem(answer, 422, "name")
    assert answer.json()["errors"][0]["code"] == "duplicate_key"
    nested_twice = b'{"name": "x", "data": {"a": 1, "a": 2}}'
    answer = await client.post(
        "/v1/things",
        content=nested_twice,
        headers={**tokens.province(HUNAN), "Content-Type": "application/json"},
    )
    assert_problem(answer, 422)
    assert "'a'" in answer.json()["detail"]


@pytest.mark.parametrize("depth", [40, 1000, 100_000])
async def test_a_deeply_nested_body_is_a_422_naming_the_body(
    client: httpx.AsyncClient, tokens: Tokens, depth: int
) -> None:
    body = '{"name": "x", "data": {"deep": ' + nested(depth) + "}}"
    answer = await client.post(
        "/v1/things",
        content=body.encode(),
        headers={**tokens.province(HUNAN), "Content-Type": "application/json"},
    )
    assert_problem(answer, 422, "body")


@pytest.mark.parametrize("body", [b'{"name": "\xe0"}', b"\xff\xfe\x00", b'"\x85"'])
async def test_a_body_that_is_not_utf8_is_a_422_and_never_a_500(
    client: httpx.AsyncClient, tokens: Tokens, body: bytes
) -> None:
    headers = {**tokens.province(HUNAN), "Content-Type": "application/json"}
    answer = await client.post("/v1/things", content=body, headers=headers)
    assert_problem(answer, 422, "body")
    assert answer.json()["errors"][0]["code"] == "json_invalid"
    keyed = {**headers, "Idempotency-Key": "not-utf8-key-0001"}
    touched = await client.post(f"/v1/things/{uuid4()}/touch", content=body, headers=keyed)
    assert touched.status_code == 200, touched.text


async def test_a_body_in_utf16_is_a_422_not_decoded_by_guess(
    client: httpx.AsyncClient, tokens: Tokens
) -> None:
    headers = {**tokens.province(HUNAN), "Content-Type": "application/json"}
    answer = await client.post(
        "/v1/things", content='{"name": "x"}'.encode("utf-16"), headers=headers
    )
    assert_problem(answer, 422, "body")


async def test_a_charset_other_than_utf8_is_a_415(
    client: httpx.AsyncClient, tokens: Tokens
) -> None:
    headers = {**tokens.province(HUNAN), "Content-Type": "application/json; charset=latin-1"}
    answer = await client.post("/v1/things", content=b'{"name": "x"}', headers=headers)
    assert_problem(answer, 415)


async def test_an_integer_of_thousands_of_digits_is_a_422_not_a_500(
    client: httpx.AsyncClient, tokens: Tokens
) -> None:
    headers = {**tokens.province(HUNAN), "Content-Type": "application/json"}
    body = b'{"name": "x", "data": {"n": 1' + b"0" * 5000 + b"}}"
    answer = await client.post("/v1/things", content=body, headers=headers)
    assert_problem(answer, 422, "body")
    assert answer.json()["errors"][0]["code"] == "too_long"


async def test_brackets_inside_strings_are_not_nesting(
    client: httpx.AsyncClient, tokens: Tokens
) -> None:
    body = {"name": "[" * 100 + '{"\\"', "data": {"a": [[1], [2], {"b": "]]]"}] * 20}}
    answer = await client.post("/v1/things", json=body, headers=tokens.province(HUNAN))
    assert answer.status_code == 201, answer.text


@examples(max_examples=300, deadline=None, derandomize=True)
@given(st.binary(max_size=200) | st.text(alphabet='[]{}",:0 \\a', max_size=200))
def test_the_decoder_refuses_any_input_only_with_a_422_or_a_decode_error(raw: bytes | str) -> None:
    """Whatever a client sends, decode_json answers a document, a 422 or "not JSON": nothing
    else (RecursionError, UnicodeDecodeError, ValueError) can reach the error handler."""
    with suppress(InvalidInput, json.JSONDecodeError):
        decode_json(raw, field="body")


async def test_a_body_of_one_string_full_of_brackets_is_not_nesting(
    client: httpx.AsyncClient, tokens: Tokens
) -> None:
    headers = {
        **tokens.province(HUNAN),
        "Content-Type": "application/json",
        "Idempotency-Key": "string-body-0001",
    }
    body = json.dumps("[" * 40 + "{" * 40).encode()
    answer = await client.post(f"/v1/things/{uuid4()}/touch", content=body, headers=headers)
    assert answer.status_code == 200, answer.text
    answer = await client.post("/v1/things", content=body, headers=headers)
    assert_problem(answer, 422)


@pytest.mark.parametrize("depth", [40, 1000])
async def test_a_deep_body_on_a_command_without_a_body_is_a_422_not_a_500(
    client: httpx.AsyncClient, tokens: Tokens, depth: int
) -> None:
    answer = await client.post(
        f"/v1/things/{uuid4()}/touch",
        content=nested(depth).encode(),
        headers={
            **tokens.province(HUNAN),
            "Content-Type": "application/json",
            "Idempotency-Key": "deep-body-0001",
        },
    )
    assert_problem(answer, 422, "body")


async def test_the_fingerprint_ignores_key_order_and_spacing(
    client: httpx.AsyncClient, tokens: Tokens
) -> None:
    headers = {
        **tokens.province(HUNAN),
        "Content-Type": "application/json",
        "Idempotency-Key": "order-key-0001",
    }
    first = await client.post("/v1/things", content=b'{"name":"x","data":{"a":1}}', headers=headers)
    again = await client.post(
        "/v1/things", content=b'{ "data": {"a": 1}, "name": "x" }', headers=headers
    )
    assert first.status_code == again.status_code == 201
    assert again.headers["idempotent-replayed"] == "true"


def test_routes_with_a_body_document_400_415_and_422(app: FastAPI) -> None:
    paths = app.openapi()["paths"]
    for path, method in (("/v1/things", "post"), ("/v1/things/{thing_id}", "patch")):
        responses = paths[path][method]["responses"]
        assert {"400", "415", "422"} <= set(responses), (path, method)
        assert "application/problem+json" in responses["415"]["content"]
    assert "415" not in paths["/v1/things/{thing_id}/touch"]["post"]["responses"]


# --- Cursors -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "cursor",
    [
        cursor_of(nested(1000)),
        cursor_of('{"id": ' + nested(40) + "}"),
        cursor_of('{"id": "' + str(uuid4()) + '", "id": "' + str(uuid4()) + '"}'),
        "A" * 513,
    ],
    ids=["deep", "nested", "duplicate-key", "long"],
)
async def test_a_crafted_cursor_is_a_422_naming_the_cursor(
    client: httpx.AsyncClient, tokens: Tokens, cursor: str
) -> None:
    answer = await client.get(
        "/v1/things", params={"cursor": cursor}, headers=tokens.province(HUNAN)
    )
    assert_problem(answer, 422, "cursor")


def test_the_cursor_is_a_bounded_string_never_null_in_openapi(app: FastAPI) -> None:
    parameters = app.openapi()["paths"]["/v1/things"]["get"]["parameters"]
    (cursor,) = [p for p in parameters if p["name"] == "cursor"]
    assert cursor["required"] is False
    assert (cursor["schema"]["type"], cursor["schema"]["maxLength"]) == ("string", 512)
    assert "anyOf" not in cursor["schema"]


async def test_a_cursor_of_this_api_still_works(client: httpx.AsyncClient, tokens: Tokens) -> None:
    after = uuid4()
    cursor = cursor_of(json.dumps({"id": str(after)}))
    answer = await client.get(
        "/v1/things", params={"cursor": cursor}, headers=tokens.province(HUNAN)
    )
    assert answer.status_code == 200
    assert answer.json() == {"after": str(after)}


# --- 405 ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("DELETE", "/v1/things", {"GET", "POST"}),
        ("PUT", f"/v1/things/{uuid4()}", {"GET", "PATCH"}),
        ("GET", f"/v1/things/{uuid4()}/touch", {"POST"}),
    ],
)
async def test_a_405_allows_every_method_of_the_path(
    client: httpx.AsyncClient, tokens: Tokens, method: str, path: str, allowed: set[str]
) -> None:
    answer = await client.request(method, path, headers=tokens.province(HUNAN))
    assert_problem(answer, 405)
    assert {m.strip() for m in answer.headers["allow"].split(",")} == allowed


# --- query parameters --------------------------------------------------------------------------


async def test_the_declared_query_parameters_are_accepted(
    client: httpx.AsyncClient, tokens: Tokens
) -> None:
    """Those of the route and of its dependencies, by the name the client sends (the alias)."""
    answer = await client.get(
        f"/v1/things/{uuid4()}/related",
        params={"page-size": "3", "name": "x"},
        headers=tokens.province(HUNAN),
    )
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"size": 3, "name": "x"}


@pytest.mark.parametrize(
    ("method", "path", "query", "refused"),
    [
        ("GET", "/v1/things", "cursr=abc", ["cursr"]),
        ("GET", "/v1/things/{id}", "expand=all", ["expand"]),
        ("GET", "/v1/things/{id}/related", "size=3&page-size=3&name=x&Name=y", ["Name", "size"]),
        ("GET", "/v1/things/{id}/related", "page_size=3", ["page_size"]),
        ("POST", "/v1/things/{id}/touch", "dry_run=1", ["dry_run"]),
        ("POST", "/v1/things", "name=x", ["name"]),
    ],
)
async def test_an_undeclared_query_parameter_is_a_422_naming_it(
    client: httpx.AsyncClient,
    tokens: Tokens,
    method: str,
    path: str,
    query: str,
    refused: list[str],
) -> None:
    """As an unknown body field is: a misspelt filter would otherwise answer unfiltered."""
    url = f"{path.format(id=uuid4())}?{query}"
    headers = {**tokens.province(HUNAN), "Idempotency-Key": f"query-{uuid4()}"}
    answer = await client.request(method, url, json={"name": "x"}, headers=headers)
    assert_problem(answer, 422)
    errors = answer.json()["errors"]
    assert [(e["field"], e["code"]) for e in errors] == [(f, "unknown_parameter") for f in refused]


async def test_a_route_that_forwards_its_query_refuses_none(
    client: httpx.AsyncClient, tokens: Tokens
) -> None:
    query = "anything=1&anything=2&q=%E5%93%81"
    for method in ("GET", "POST"):
        answer = await client.request(
            method, f"/v1/things/{uuid4()}/elsewhere/a/b?{query}", headers=tokens.province(HUNAN)
        )
        assert answer.status_code == 200, answer.text
        assert answer.json() == {"query": query}
