"""The registry's HTTP routes: thin; they parse, run one use case in one transaction, and answer."""

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Path, Query, Response
from fastapi.responses import JSONResponse

from laborcoop.common.auth import CurrentPrincipal
from laborcoop.common.deps import DbPool, use_cases
from laborcoop.common.errors import (
    Conflict,
    Forbidden,
    NotFound,
    PreconditionFailed,
    problem_responses,
)
from laborcoop.common.idempotency import Command
from laborcoop.common.inputs import NfcText
from laborcoop.common.pagination import Cursor, Limit, Page, cursor_id, page_of
from laborcoop.common.routes import AggregateRoutes, Representation
from laborcoop.common.versioning import IfMatch, RequiredIfMatch
from laborcoop.contracts.codes import BrandCategory, BrandLevel, BrandStatus, Period
from laborcoop.contracts.openapi import QUERY_TEXT_PATTERN
from laborcoop.contracts.provinces import ProvinceCode
from laborcoop.registry import repository
from laborcoop.registry.domain import IndicatorReport
from laborcoop.registry.repository import BRAND_STORE
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
ROUTES = AggregateRoutes(router, "brand_id", "brand", BrandOut)
USES = use_cases(Registry)
Use = Annotated[Registry, USES]
BRAND = Representation(BrandOut.of, "/v1/brands/{id}")


@router.post(
    "",
    status_code=201,
    response_model=BrandOut,
    summary="Register a labour brand",
    description="A province registers its own brand. The name is unique within the province.",
    responses=problem_responses(Forbidden, Conflict),
)
async def register_brand(body: BrandCreate, command: Command, use: Use) -> Response:
    return await command.execute(
        lambda uow: use.register(uow, command.principal, body.province, body.attributes()),
        BRAND.created,
    )


@ROUTES.listing(Page[BrandOut], "List and search brands")
async def list_brands(
    principal: CurrentPrincipal,
    pool: DbPool,
    province: Annotated[ProvinceCode | None, Query()] = None,
    category: BrandCategory | None = None,
    level: BrandLevel | None = None,
    status: BrandStatus | None = None,
    occupation: Annotated[str | None, Query(pattern=r"^\d-\d{2}-\d{2}-\d{2}$")] = None,
    q: Annotated[
        NfcText | None,
        Query(
            min_length=1,
            max_length=64,
            description="in the name",
            json_schema_extra={"pattern": QUERY_TEXT_PATTERN},
        ),
    ] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[BrandOut]:
    where = repository.BrandFilter(province, category, level, status, occupation, q)
    async with pool.acquire() as conn:
        brands = await repository.search(conn, where, after=cursor_id(cursor), limit=limit + 1)
    return page_of([BrandOut.of(b) for b in brands], limit, lambda b: {"id": str(b.id)})


@ROUTES.one("One brand, with its ETag")
async def get_brand(brand_id: BrandId, principal: CurrentPrincipal, pool: DbPool) -> Response:
    async with pool.acquire() as conn:
        return BRAND.answer(await BRAND_STORE.require(conn, brand_id))


@ROUTES.edit(
    "patch",
    "Change a brand's attributes",
    "Needs `If-Match` with the brand's ETag. Only the brand's province edits it.",
)
async def update_brand(
    brand_id: BrandId, body: BrandPatch, command: Command, use: Use, if_match: RequiredIfMatch
) -> Response:
    return await command.execute(
        lambda uow: use.update(uow, command.principal, brand_id, if_match, body.changes()),
        BRAND.answer,
    )


@ROUTES.command(
    "recognition",
    "Recognise (认定) at a level",
    "A province recognises its own brands up to province level; the ministry "
    "recognises at national level. A brand may be recognised again only at a higher level.",
)
async def recognise_brand(
    brand_id: BrandId, body: Recognition, command: Command, use: Use, if_match: IfMatch = None
) -> Response:
    return await command.execute(
        lambda uow: use.recognise(uow, command.principal, brand_id, if_match, body.level),
        BRAND.answer,
    )


@ROUTES.command(
    "suspension", "Suspend a brand", "The ministry may suspend any brand; a province its own."
)
async def suspend_brand(
    brand_id: BrandId, body: Suspension, command: Command, use: Use, if_match: IfMatch = None
) -> Response:
    return await command.execute(
        lambda uow: use.suspend(uow, command.principal, brand_id, if_match, body.reason),
        BRAND.answer,
    )


@ROUTES.command(
    "reinstatement",
    "Lift a suspension",
    "A suspension the ministry imposed is lifted only by the ministry.",
)
async def reinstate_brand(
    brand_id: BrandId,
    command: Command,
    use: Use,
    body: Reinstatement | None = None,
    if_match: IfMatch = None,
) -> Response:
    return await command.execute(
        lambda uow: use.reinstate(uow, command.principal, brand_id, if_match), BRAND.answer
    )


@ROUTES.command("retirement", "Retire a brand (final)")
async def retire_brand(
    brand_id: BrandId, body: Retirement, command: Command, use: Use, if_match: IfMatch = None
) -> Response:
    return await command.execute(
        lambda uow: use.retire(uow, command.principal, brand_id, if_match, body.reason),
        BRAND.answer,
    )


def _report_answer(result: tuple[IndicatorReport, bool]) -> JSONResponse:
    report, is_new = result
    return JSONResponse(
        IndicatorReportOut.of(report).model_dump(mode="json"), status_code=201 if is_new else 200
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
        **problem_responses(Forbidden, NotFound, Conflict, PreconditionFailed),
    },
)
async def report_indicators(
    brand_id: BrandId,
    period: Annotated[Period, Path(examples=["2024"])],
    body: IndicatorsIn,
    command: Command,
    use: Use,
    if_match: IfMatch = None,
) -> Response:
    return await command.execute(
        lambda uow: use.report_indicators(
            uow, command.principal, brand_id, period, body.figures(), body.source, if_match
        ),
        _report_answer,
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
        await BRAND_STORE.require(conn, brand_id)
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
        await BRAND_STORE.require(conn, brand_id)
        reports = await repository.revisions(conn, brand_id, period)
    if not reports:
        raise NotFound(f"no indicators of brand {brand_id} for {period}")
    return [IndicatorReportOut.of(r) for r in reports]


ROUTES.history(name="brand_history", use=USES)
