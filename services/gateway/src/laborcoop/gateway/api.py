"""The gateway's public routes: reads from projections, commands forwarded to their owner."""

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query, Request, Response

from laborcoop.common.auth import CurrentPrincipal
from laborcoop.common.deps import DbPool
from laborcoop.common.errors import (
    Conflict,
    Forbidden,
    GatewayTimeout,
    Problem,
    ServiceUnavailable,
    problem_responses,
)
from laborcoop.common.inputs import ApiModel
from laborcoop.common.pagination import Cursor, Limit, Page, cursor_id, page_of
from laborcoop.contracts.codes import BrandCategory, BrandLevel, BrandStatus
from laborcoop.contracts.provinces import ProvinceCode
from laborcoop.gateway import repository
from laborcoop.gateway.forwarding import GATEWAY_TIMEOUT_DESCRIPTION, forward, forwarded
from laborcoop.gateway.schemas import BrandRegistration, request_body

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
    category: BrandCategory | None = None,
    status: BrandStatus | None = None,
    level: BrandLevel | None = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[BrandSummary]:
    """The registry's list filters that ``brand_view`` holds, typed as the registry types
    them; ``occupation`` and ``q`` are the registry's alone (an unknown parameter is a 422)."""
    where = repository.BrandFilter(province, category, status, level)
    async with pool.acquire() as conn:
        rows = await repository.brands(conn, where, after=cursor_id(cursor), limit=limit + 1)
    items = [BrandSummary.model_validate(dict(r)) for r in rows]
    return page_of(items, limit, lambda b: {"id": str(b.id)})


def forwarded_responses(*problems: type[Problem]) -> dict[int | str, dict[str, Any]]:
    """The documented answers of a forwarded route: the owner's ``problems`` and the gateway's
    own 503 (the owner was not reached) and 504 (the outcome is unknown)."""
    responses = problem_responses(*problems, ServiceUnavailable, GatewayTimeout)
    responses[504] = {**responses[504], "description": GATEWAY_TIMEOUT_DESCRIPTION}
    return responses


@forwarded(
    router,
    "/brands",
    methods=["POST"],
    include_in_schema=True,
    summary="Register a brand (forwarded to the registry)",
    description="The body is forwarded unchanged; the registry validates it and answers. "
    "Send an `Idempotency-Key`: a 504 means the outcome is unknown, and a retry with the same "
    "key is then safe (it returns the first answer). A 503 means the registry was not reached.",
    status_code=201,
    responses=forwarded_responses(Forbidden, Conflict),
    openapi_extra=request_body(BrandRegistration),
)
async def register_brand(request: Request, principal: CurrentPrincipal) -> Response:
    return await forward(request, "registry", "/v1/brands")


@forwarded(router, "/brands/{rest:path}")
async def brand_resource(request: Request, rest: str, principal: CurrentPrincipal) -> Response:
    """One brand and its sub-resources: forwarded to the registry until the gateway has its own
    routes for them (the registry's OpenAPI document describes them)."""
    return await forward(request, "registry", "/v1/brands", rest)


@forwarded(router, "/agreements")
@forwarded(router, "/agreements/{rest:path}")
async def agreements(request: Request, principal: CurrentPrincipal, rest: str = "") -> Response:
    """Agreements: forwarded to the agreements service (its OpenAPI document describes them)."""
    return await forward(request, "agreements", "/v1/agreements", rest)


@forwarded(router, "/workers")
@forwarded(router, "/workers/{rest:path}")
async def workers(request: Request, principal: CurrentPrincipal, rest: str = "") -> Response:
    """Worker records: forwarded to the placements service, which alone opens personal data
    and masks it (the gateway never sees a worker's data in the clear unless the caller may)."""
    return await forward(request, "placements", "/v1/workers", rest)


@forwarded(router, "/workers:import")
async def import_workers(request: Request, principal: CurrentPrincipal) -> Response:
    """The bulk import of worker records: its NDJSON body streamed to the placements service."""
    return await forward(request, "placements", "/v1/workers:import")


@forwarded(router, "/demands")
@forwarded(router, "/demands/{rest:path}")
async def demands(request: Request, principal: CurrentPrincipal, rest: str = "") -> Response:
    """Demands and their matches: forwarded to the placements service."""
    return await forward(request, "placements", "/v1/demands", rest)


@forwarded(router, "/placements")
@forwarded(router, "/placements/{rest:path}")
async def placements(request: Request, principal: CurrentPrincipal, rest: str = "") -> Response:
    """Placements: forwarded to the placements service."""
    return await forward(request, "placements", "/v1/placements", rest)
