"""The gateway's public routes: reads from projections, commands forwarded to their owner."""

from typing import Annotated
from urllib.parse import quote
from uuid import UUID

import httpx
from fastapi import APIRouter, Query, Request, Response

from laborcoop.common.api import ApiModel
from laborcoop.common.auth import CurrentPrincipal
from laborcoop.common.deps import DbPool
from laborcoop.common.errors import NotFound, ServiceUnavailable, problem_responses
from laborcoop.common.pagination import Cursor, Limit, Page, cursor_id, page_of
from laborcoop.contracts.provinces import ProvinceCode
from laborcoop.gateway import repository

router = APIRouter(prefix="/v1", tags=["brands"])


class BrandSummary(ApiModel):
    id: UUID
    name: str
    province: str
    category: str
    status: str
    level: str | None
    version: int


@router.get(
    "/brands",
    summary="List labour brands (projection)",
    response_model=Page[BrandSummary],
    responses=problem_responses(),
)
async def list_brands(
    principal: CurrentPrincipal,
    pool: DbPool,
    province: Annotated[ProvinceCode | None, Query()] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[BrandSummary]:
    async with pool.acquire() as conn:
        rows = await repository.brands(
            conn, province=province, after=cursor_id(cursor), limit=limit + 1
        )
    items = [BrandSummary.model_validate(dict(r)) for r in rows]
    return page_of(items, limit, lambda b: {"id": str(b.id)})


@router.post(
    "/brands",
    summary="Register a brand (forwarded to the registry)",
    status_code=201,
    responses=problem_responses(ServiceUnavailable),
)
async def register_brand(request: Request, principal: CurrentPrincipal) -> Response:
    return await forward(request, "registry", "/v1/brands")


_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]


@router.api_route("/brands/{rest:path}", methods=_METHODS, include_in_schema=False)
async def brand_resource(request: Request, rest: str, principal: CurrentPrincipal) -> Response:
    """One brand and its sub-resources: forwarded to the registry until the gateway has its own
    routes for them (the registry's OpenAPI document describes them)."""
    return await forward(request, "registry", "/v1/brands", rest)


@router.api_route("/agreements", methods=_METHODS, include_in_schema=False)
@router.api_route("/agreements/{rest:path}", methods=_METHODS, include_in_schema=False)
async def agreements(request: Request, principal: CurrentPrincipal, rest: str = "") -> Response:
    """Agreements: forwarded to the agreements service (its OpenAPI document describes them)."""
    return await forward(request, "agreements", "/v1/agreements", rest)


_FORWARDED_HEADERS = ("authorization", "content-type", "idempotency-key", "if-match", "traceparent")
_RETURNED_HEADERS = ("content-type", "location", "etag", "idempotent-replayed")


def upstream_path(prefix: str, rest: str = "") -> str:
    """``prefix`` and the caller's remaining path, each segment re-quoted; dot segments are
    refused so that no request reaches anything outside ``prefix`` upstream."""
    segments = rest.split("/") if rest else []
    if any(segment in {".", ".."} for segment in segments):
        raise NotFound("no such resource")
    return "/".join([prefix, *(quote(s, safe="") for s in segments)])


async def forward(request: Request, service: str, prefix: str, rest: str = "") -> Response:
    """Send the request (token included) to the owning service and relay its answer."""
    upstream: httpx.AsyncClient = request.app.state.upstreams[service]
    headers = {h: v for h in _FORWARDED_HEADERS if (v := request.headers.get(h)) is not None}
    try:
        answer = await upstream.request(
            request.method,
            upstream_path(prefix, rest),
            params=request.query_params,
            content=await request.body(),
            headers=headers,
        )
    except httpx.HTTPError as exc:
        raise ServiceUnavailable(f"{service} unavailable: {type(exc).__name__}") from exc
    kept = {h: v for h in _RETURNED_HEADERS if (v := answer.headers.get(h)) is not None}
    return Response(answer.content, status_code=answer.status_code, headers=kept)
