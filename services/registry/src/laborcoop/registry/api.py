"""The registry's HTTP routes: thin; they parse, run one use case in one transaction, and answer."""

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Path, Query, Request, Response, status
from fastapi.responses import JSONResponse

from laborcoop.common import history
from laborcoop.common.auth import CurrentPrincipal
from laborcoop.common.errors import (
    Conflict,
    Forbidden,
    InvalidState,
    NotFound,
    PreconditionFailed,
    PreconditionRequired,
    problem_responses,
)
from laborcoop.common.history import HistoryEntry
from laborcoop.common.http import DbPool
from laborcoop.common.idempotency import Command
from laborcoop.common.pagination import MAX_LIMIT, Page, cursor_value, page_of
from laborcoop.common.versioning import IfMatch, etag
from laborcoop.contracts.codes import BrandCategory, BrandLevel, BrandStatus, Period
from laborcoop.registry import repository
from laborcoop.registry.domain import Brand
from laborcoop.registry.schemas import (
    BrandCreate,
    BrandOut,
    BrandPatch,
    IndicatorReportOut,
    IndicatorsIn,
    Recognition,
    Reinstatement,
    Retirement,
    Suspension,
)
from laborcoop.registry.service import Registry

router = APIRouter(prefix="/v1/brands", tags=["brands"])

BrandId = Annotated[UUID, Path(description="The brand's id")]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Page size (≤ 200)")]
Cursor = Annotated[str | None, Query(description="`next_cursor` of the previous page")]


async def get_registry(request: Request) -> Registry:
    registry: Registry = request.app.state.registry
    return registry


Use = Annotated[Registry, Depends(get_registry)]


def brand_response(brand: Brand, status_code: int = 200) -> JSONResponse:
    return JSONResponse(
        BrandOut.of(brand).model_dump(mode="json"),
        status_code=status_code,
        headers={"ETag": etag(brand.version), "Location": f"/v1/brands/{brand.id}"},
    )


def created(brand: Brand) -> JSONResponse:
    return brand_response(brand, status.HTTP_201_CREATED)


_COMMAND_ERRORS = problem_responses(Forbidden, NotFound, InvalidState, PreconditionFailed)


@router.post(
    "",
    status_code=201,
    response_model=BrandOut,
    summary="Register a labour brand",
    description="A province registers its own brand. The name is unique within the province.",
    responses=problem_responses(Forbidden, Conflict),
)
async def register_brand(
    body: BrandCreate, principal: CurrentPrincipal, pool: DbPool, use: Use, command: Command
) -> Response:
    return await command.execute(
        pool,
        lambda conn: use.register(conn, principal, body.province, body.attributes()),
        created,
    )


@router.get(
    "",
    response_model=Page[BrandOut],
    summary="List and search brands",
    responses=problem_responses(),
)
async def list_brands(
    principal: CurrentPrincipal,
    pool: DbPool,
    province: Annotated[str | None, Query(pattern=r"^\d{6}$")] = None,
    category: BrandCategory | None = None,
    level: BrandLevel | None = None,
    status: BrandStatus | None = None,
    occupation: Annotated[str | None, Query(pattern=r"^\d-\d{2}-\d{2}-\d{2}$")] = None,
    q: Annotated[str | None, Query(min_length=1, max_length=64, description="in the name")] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[BrandOut]:
    where = repository.BrandFilter(province, category, level, status, occupation, q)
    after = cursor_value(cursor, "id")
    async with pool.acquire() as conn:
        brands = await repository.search(
            conn, where, after=UUID(after) if after else None, limit=limit + 1
        )
    return page_of([BrandOut.of(b) for b in brands], limit, lambda b: {"id": str(b.id)})


@router.get(
    "/{brand_id}",
    response_model=BrandOut,
    summary="One brand, with its ETag",
    responses=problem_responses(NotFound),
)
async def get_brand(brand_id: BrandId, principal: CurrentPrincipal, pool: DbPool) -> Response:
    async with pool.acquire() as conn:
        brand = await repository.get(conn, brand_id)
    if brand is None:
        raise NotFound(f"no brand {brand_id}")
    return brand_response(brand)


@router.patch(
    "/{brand_id}",
    response_model=BrandOut,
    summary="Change a brand's attributes",
    description="Needs `If-Match` with the brand's ETag. Only the brand's province edits it.",
    responses=problem_responses(
        Forbidden, NotFound, Conflict, PreconditionFailed, PreconditionRequired
    ),
)
async def update_brand(
    brand_id: BrandId,
    body: BrandPatch,
    principal: CurrentPrincipal,
    pool: DbPool,
    use: Use,
    command: Command,
    if_match: IfMatch = None,
) -> Response:
    return await command.execute(
        pool,
        lambda conn: use.update(conn, principal, brand_id, if_match, body.applied_to),
        brand_response,
    )


@router.post(
    "/{brand_id}/recognition",
    response_model=BrandOut,
    summary="Recognise (认定) at a level",
    description="A province recognises its own brands up to province level; the ministry "
    "recognises at national level. A brand may be recognised again only at a higher level.",
    responses=_COMMAND_ERRORS,
)
async def recognise_brand(
    brand_id: BrandId,
    body: Recognition,
    principal: CurrentPrincipal,
    pool: DbPool,
    use: Use,
    command: Command,
    if_match: IfMatch = None,
) -> Response:
    return await command.execute(
        pool,
        lambda conn: use.transition(
            conn, brand_id, if_match, lambda b, now: b.recognise(principal, body.level, now)
        ),
        brand_response,
    )


@router.post(
    "/{brand_id}/suspension",
    response_model=BrandOut,
    summary="Suspend a brand",
    description="The ministry may suspend any brand; a province its own.",
    responses=_COMMAND_ERRORS,
)
async def suspend_brand(
    brand_id: BrandId,
    body: Suspension,
    principal: CurrentPrincipal,
    pool: DbPool,
    use: Use,
    command: Command,
    if_match: IfMatch = None,
) -> Response:
    return await command.execute(
        pool,
        lambda conn: use.transition(
            conn, brand_id, if_match, lambda b, now: b.suspend(principal, body.reason, now)
        ),
        brand_response,
    )


@router.post(
    "/{brand_id}/reinstatement",
    response_model=BrandOut,
    summary="Lift a suspension",
    description="A suspension the ministry imposed is lifted only by the ministry.",
    responses=_COMMAND_ERRORS,
)
async def reinstate_brand(
    brand_id: BrandId,
    principal: CurrentPrincipal,
    pool: DbPool,
    use: Use,
    command: Command,
    body: Reinstatement | None = None,
    if_match: IfMatch = None,
) -> Response:
    return await command.execute(
        pool,
        lambda conn: use.transition(
            conn, brand_id, if_match, lambda b, now: b.reinstate(principal, now)
        ),
        brand_response,
    )


@router.post(
    "/{brand_id}/retirement",
    response_model=BrandOut,
    summary="Retire a brand (final)",
    responses=_COMMAND_ERRORS,
)
async def retire_brand(
    brand_id: BrandId,
    body: Retirement,
    principal: CurrentPrincipal,
    pool: DbPool,
    use: Use,
    command: Command,
    if_match: IfMatch = None,
) -> Response:
    return await command.execute(
        pool,
        lambda conn: use.transition(
            conn, brand_id, if_match, lambda b, now: b.retire(principal, body.reason, now)
        ),
        brand_response,
    )


@router.put(
    "/{brand_id}/indicators/{period}",
    response_model=IndicatorReportOut,
    summary="Report a period's indicators",
    description="One report per brand and period (`2024` or `2024-Q3`). Sending different "
    "figures again replaces the report and is recorded as a correction (201); sending the same "
    "figures changes nothing (200).",
    responses={
        201: {
            "description": "Reported (first report or a correction)",
            "model": IndicatorReportOut,
        },
        **problem_responses(Forbidden, NotFound, InvalidState),
    },
)
async def report_indicators(
    brand_id: BrandId,
    period: Annotated[Period, Path(examples=["2024"])],
    body: IndicatorsIn,
    principal: CurrentPrincipal,
    pool: DbPool,
    use: Use,
    command: Command,
) -> Response:
    def render(result: tuple[Any, bool]) -> JSONResponse:
        report, is_new = result
        return JSONResponse(
            IndicatorReportOut.of(report).model_dump(mode="json"),
            status_code=201 if is_new else 200,
        )

    return await command.execute(
        pool,
        lambda conn: use.report_indicators(
            conn, principal, brand_id, period, body.figures(), body.source
        ),
        render,
    )


@router.get(
    "/{brand_id}/indicators",
    response_model=list[IndicatorReportOut],
    summary="The current report of every period",
    responses=problem_responses(NotFound),
)
async def list_indicators(
    brand_id: BrandId, principal: CurrentPrincipal, pool: DbPool
) -> list[IndicatorReportOut]:
    async with pool.acquire() as conn:
        await _require_brand(conn, brand_id)
        reports = await repository.current_reports(conn, brand_id)
    return [IndicatorReportOut.of(r) for r in reports]


@router.get(
    "/{brand_id}/indicators/{period}",
    response_model=list[IndicatorReportOut],
    summary="Every revision of one period's report, oldest first",
    responses=problem_responses(NotFound),
)
async def indicator_revisions(
    brand_id: BrandId,
    period: Annotated[Period, Path()],
    principal: CurrentPrincipal,
    pool: DbPool,
) -> list[IndicatorReportOut]:
    async with pool.acquire() as conn:
        await _require_brand(conn, brand_id)
        reports = await repository.revisions(conn, brand_id, period)
    if not reports:
        raise NotFound(f"no indicators of brand {brand_id} for {period}")
    return [IndicatorReportOut.of(r) for r in reports]


@router.get(
    "/{brand_id}/history",
    response_model=Page[HistoryEntry],
    summary="The brand's events, oldest first",
    responses=problem_responses(NotFound),
)
async def brand_history(
    brand_id: BrandId,
    principal: CurrentPrincipal,
    pool: DbPool,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[HistoryEntry]:
    async with pool.acquire() as conn:
        await _require_brand(conn, brand_id)
        return await history.page(conn, brand_id, cursor=cursor, limit=limit)


async def _require_brand(conn: Any, brand_id: UUID) -> None:
    if await repository.get(conn, brand_id) is None:
        raise NotFound(f"no brand {brand_id}")
