"""The gateway's public routes: reads from projections, commands forwarded to their owner."""

from typing import Annotated
from uuid import UUID

import httpx
from fastapi import APIRouter, Query, Request, Response

from laborcoop.common.api import ApiModel
from laborcoop.common.auth import CurrentPrincipal
from laborcoop.common.deps import DbPool
from laborcoop.common.errors import ServiceUnavailable, problem_responses
from laborcoop.common.pagination import Page, decode_cursor, encode_cursor

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
    province: Annotated[str | None, Query(pattern=r"^\d{6}$")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: str | None = None,
) -> Page[BrandSummary]:
    after = UUID(decode_cursor(cursor)["id"]) if cursor else None
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            """SELECT brand_id AS id, name, province, category, status, level, version
               FROM brand_view
               WHERE ($1::text IS NULL OR province = $1)
                 AND ($2::uuid IS NULL OR brand_id > $2)
               ORDER BY brand_id LIMIT $3""",
            province,
            after,
            limit + 1,
        )
    items = [BrandSummary.model_validate(dict(r)) for r in rows[:limit]]
    next_cursor = encode_cursor({"id": str(items[-1].id)}) if len(rows) > limit else None
    return Page(items=items, next_cursor=next_cursor)


@router.post(
    "/brands",
    summary="Register a brand (forwarded to the registry)",
    status_code=201,
    responses=problem_responses(ServiceUnavailable),
)
async def register_brand(request: Request, principal: CurrentPrincipal) -> Response:
    return await forward(request, request.app.state.upstreams["registry"])


_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]


@router.api_route("/brands/{rest:path}", methods=_METHODS, include_in_schema=False)
async def brand_resource(request: Request, rest: str, principal: CurrentPrincipal) -> Response:
    """One brand and its sub-resources: forwarded to the registry until the gateway has its own
    routes for them (the registry's OpenAPI document describes them)."""
    return await forward(request, request.app.state.upstreams["registry"])


@router.api_route("/agreements", methods=_METHODS, include_in_schema=False)
@router.api_route("/agreements/{rest:path}", methods=_METHODS, include_in_schema=False)
async def agreements(request: Request, principal: CurrentPrincipal, rest: str = "") -> Response:
    """Agreements: forwarded to the agreements service (its OpenAPI document describes them)."""
    return await forward(request, request.app.state.upstreams["agreements"])


_FORWARDED_HEADERS = ("authorization", "content-type", "idempotency-key", "if-match", "traceparent")
_RETURNED_HEADERS = ("content-type", "location", "etag", "idempotent-replayed")


async def forward(request: Request, upstream: httpx.AsyncClient) -> Response:
    """Send the request unchanged (token included) to the owning service and relay its answer."""
    headers = {h: v for h in _FORWARDED_HEADERS if (v := request.headers.get(h)) is not None}
    try:
        answer = await upstream.request(
            request.method,
            request.url.path,
            params=request.query_params,
            content=await request.body(),
            headers=headers,
        )
    except httpx.HTTPError as exc:
        raise ServiceUnavailable(f"upstream unavailable: {type(exc).__name__}") from exc
    kept = {h: v for h in _RETURNED_HEADERS if (v := answer.headers.get(h)) is not None}
    return Response(answer.content, status_code=answer.status_code, headers=kept)
