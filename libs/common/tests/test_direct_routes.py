"""Direct routes (``laborcoop.common.middleware.DirectRoute``): handled as plain ASGI as soon as
a request's path and method select them, with the router's precedence, the app's rendering of
problems, and the same trace context and metrics as every other route."""

from collections.abc import AsyncIterator
from typing import Any
from uuid import UUID

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from prometheus_client import REGISTRY
from starlette.responses import JSONResponse
from starlette.types import Receive, Scope, Send

from laborcoop.common.app import create_service_app
from laborcoop.common.errors import Conflict, problem_responses
from laborcoop.common.middleware import DirectRoute, DirectRoutesMiddleware
from laborcoop.common.settings import ServiceSettings
from laborcoop.common.spec import ServiceSpec, no_use_cases
from laborcoop.common.telemetry import current_trace_id
from laborcoop.testing import Stack, Tokens, running, settings_for
from laborcoop.testing.databases import Databases

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"


class Echo(DirectRoute):
    """Answers what it was given: its path parameters, the method, the trace id; a path
    parameter ``conflict`` raises a problem."""

    async def serve(self, scope: Scope, receive: Receive, send: Send) -> None:
        params = scope["path_params"]
        if params.get("rest") == "conflict":
            raise Conflict("the thing is busy")
        shown = {k: str(v) if isinstance(v, UUID) else v for k, v in params.items()}
        answer = {"direct": shown, "method": scope["method"], "trace_id": current_trace_id()}
        await JSONResponse(answer)(scope, receive, send)


async def endpoint() -> None:
    """Documents a direct route; never called."""


router = APIRouter(prefix="/v1/things")


@router.get("/own", summary="The app's own answer on a path a direct route also matches")
async def own() -> dict[str, str]:
    return {"own": "yes"}


router.add_api_route(
    "/{thing_id:uuid}/{rest:path}",
    endpoint,
    methods=["GET", "POST"],
    route_class_override=Echo,
    responses=problem_responses(Conflict),
)
router.add_api_route("/{rest:path}", endpoint, methods=["PUT"], route_class_override=Echo)


@router.get("/{rest:path}", summary="Declared after the direct routes: what they do not take")
async def shadowed(rest: str) -> dict[str, str]:
    return {"shadowed": rest}


def spec(*routers: APIRouter) -> ServiceSpec[ServiceSettings, None]:
    return ServiceSpec[ServiceSettings, None](
        name="direct",
        title="direct",
        version="0",
        description="test app",
        routers=list(routers),
        migration_package="laborcoop.common.sql",
        build=no_use_cases,
    )


@pytest.fixture
async def settings(stack: Stack, databases: Databases, topic_prefix: str) -> ServiceSettings:
    return settings_for(
        ServiceSettings,
        stack,
        topic_prefix=topic_prefix,
        database_url=await databases.fresh(),
        run_workers=False,
    )


@pytest.fixture
async def client(settings: ServiceSettings, tokens: Tokens) -> AsyncIterator[httpx.AsyncClient]:
    async with running(create_service_app(spec(router), settings, keys=tokens.keyset())) as client:
        yield client


THING = "0f8b7a42-6f63-4d3e-9a86-0c9f1b2e3d4a"


async def test_a_direct_route_gets_the_request_with_its_converted_path_parameters(
    client: httpx.AsyncClient,
) -> None:
    answer = await client.post(
        f"/v1/things/{THING}/a/b%20c", headers={"traceparent": f"00-{TRACE_ID}-00f067aa0ba902b7-01"}
    )
    assert answer.status_code == 200, answer.text
    assert answer.json() == {
        "direct": {"thing_id": THING, "rest": "a/b c"},
        "method": "POST",
        "trace_id": TRACE_ID,
    }


@pytest.mark.parametrize(
    ("method", "path", "answered_by"),
    [
        ("GET", "/v1/things/own", {"own": "yes"}),  # an earlier route with path and method
        ("GET", f"/v1/things/{THING}/own", "direct"),
        ("PUT", "/v1/things/own", "direct"),  # the earlier route matches the path only
        ("GET", "/v1/things/not-a-uuid/x", {"shadowed": "not-a-uuid/x"}),
    ],
)
async def test_the_first_route_matching_path_and_method_wins_as_in_the_router(
    client: httpx.AsyncClient, method: str, path: str, answered_by: Any
) -> None:
    answer = await client.request(method, path)
    assert answer.status_code == 200, answer.text
    if answered_by == "direct":
        assert "direct" in answer.json()
    else:
        assert answer.json() == answered_by


async def test_a_method_no_route_takes_is_the_routers_405(client: httpx.AsyncClient) -> None:
    answer = await client.delete(f"/v1/things/{THING}/x")
    assert answer.status_code == 405, answer.text
    assert set(answer.headers["allow"].split(", ")) >= {"GET", "POST", "PUT"}


async def test_a_problem_a_direct_route_raises_is_rendered_as_the_apps(
    client: httpx.AsyncClient,
) -> None:
    answer = await client.get(f"/v1/things/{THING}/conflict")
    assert answer.status_code == 409
    assert answer.headers["content-type"] == "application/problem+json"
    problem = answer.json()
    assert (problem["detail"], problem["instance"]) == (
        "the thing is busy",
        f"/v1/things/{THING}/conflict",
    )
    assert problem["trace_id"]


async def test_direct_routes_are_counted_by_their_template(client: httpx.AsyncClient) -> None:
    labels = {
        "service": "laborcoop",
        "method": "PUT",
        "route": "/v1/things/{rest:path}",
        "status": "200",
    }
    before = REGISTRY.get_sample_value("laborcoop_http_requests_total", labels) or 0.0
    for _ in range(3):
        assert (await client.put("/v1/things/x")).status_code == 200
    assert REGISTRY.get_sample_value("laborcoop_http_requests_total", labels) == before + 3


def middleware_of(app: FastAPI) -> list[object]:
    return [m.cls for m in app.user_middleware]


async def test_only_an_app_with_direct_routes_dispatches_them(
    settings: ServiceSettings, tokens: Tokens
) -> None:
    plain = APIRouter(prefix="/v1/plain")
    plain.add_api_route("/x", endpoint)
    without = create_service_app(spec(plain), settings, keys=tokens.keyset())
    assert DirectRoutesMiddleware not in middleware_of(without)
    with_them = create_service_app(spec(router), settings, keys=tokens.keyset())
    assert DirectRoutesMiddleware in middleware_of(with_them)
