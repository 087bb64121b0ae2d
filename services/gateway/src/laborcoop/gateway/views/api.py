"""The gateway's views: lists and aggregates answered from its projections, never forwarded.

The list routes take the owning services' filters by the same names and types (an unknown
parameter is a 422); this router is included before the forwarding routes, so a ``GET`` of a
list is answered here while single records and commands still go to their owner. Who sees what
is ``views.authorization``; each answer says how far behind the event stream it is.
"""

from typing import Annotated
from uuid import UUID
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Path, Query, Request

from laborcoop.common.auth import CurrentPrincipal
from laborcoop.common.deps import DbPool, state_of
from laborcoop.common.errors import Forbidden, NotFound, problem_responses
from laborcoop.common.inputs import CalendarDate
from laborcoop.common.pagination import Cursor, Limit, cursor_id, decode_cursor
from laborcoop.contracts.codes import (
    AgreementKind,
    AgreementStatus,
    CooperationArea,
    DemandStatus,
    OccupationCode,
    Period,
    PlacementStatus,
)
from laborcoop.contracts.provinces import ProvinceCode
from laborcoop.gateway.settings import GatewaySettings
from laborcoop.gateway.views import repository
from laborcoop.gateway.views.authorization import Viewer, viewer_of
from laborcoop.gateway.views.schemas import (
    AgreementItem,
    BrandImpact,
    Corridor,
    DemandItem,
    NationalOverview,
    PlacementItem,
    ProvinceOverview,
    ProvinceSummary,
    ViewPage,
)
from laborcoop.gateway.views.service import Answers, Views, period_bounds

router = APIRouter(prefix="/v1")

ProvinceQuery = Annotated[ProvinceCode | None, Query()]
FRESHNESS = (
    " Answered from the gateway's projection of the events: `freshness` says, per topic, the "
    "time of the newest event applied and how many records its consumer group is behind."
)


async def _views(request: Request) -> Views:
    """The views over the app's calendar (``LABORCOOP_TIMEZONE``) and clock, with the answers
    this app holds (``service.Answers``: one app, one database)."""
    state = state_of(request.app)
    if not isinstance(state.settings, GatewaySettings):
        raise TypeError("the views run in the gateway, on its settings")
    answers = getattr(request.app.state, "view_answers", None)
    if answers is None:
        answers = request.app.state.view_answers = Answers()
    return Views(ZoneInfo(state.settings.timezone), state.clock, answers)


async def _viewer(principal: CurrentPrincipal) -> Viewer:
    return viewer_of(principal)


Use = Annotated[Views, Depends(_views)]
Caller = Annotated[Viewer, Depends(_viewer)]


@router.get(
    "/agreements",
    tags=["agreements"],
    summary="List the agreements you may see (projection)",
    description="A province sees the agreements it is a party to (a draft only if it initiated "
    "it); the ministry those in force or ended (active, expired, terminated); observers none "
    "(403). The filters are the agreements service's." + FRESHNESS,
    response_model=ViewPage[AgreementItem],
    responses=problem_responses(Forbidden),
)
async def list_agreements(
    viewer: Caller,
    pool: DbPool,
    views: Use,
    party: ProvinceQuery = None,
    kind: AgreementKind | None = None,
    status: AgreementStatus | None = None,
    area: CooperationArea | None = None,
    brand: UUID | None = None,
    origin: ProvinceQuery = None,
    destination: ProvinceQuery = None,
    active_on: Annotated[
        CalendarDate | None,
        Query(description="in force on this day (also if it has ended since), YYYY-MM-DD"),
    ] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> ViewPage[AgreementItem]:
    where = repository.AgreementFilter(
        party, kind, status, area, brand, origin, destination, active_on, views.tz
    )
    return await views.agreements(pool, viewer, where, after=cursor_id(cursor), limit=limit)


@router.get(
    "/demands",
    tags=["demands"],
    summary="List the demands you may see (projection)",
    description="A province sees its own demands; the ministry every demand; observers none "
    "(403). The filters are the placements service's." + FRESHNESS,
    response_model=ViewPage[DemandItem],
    responses=problem_responses(Forbidden),
)
async def list_demands(
    viewer: Caller,
    pool: DbPool,
    views: Use,
    province: ProvinceQuery = None,
    occupation: Annotated[OccupationCode | None, Query()] = None,
    status: DemandStatus | None = None,
    brand: Annotated[UUID | None, Query(description="names this brand as preferred")] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> ViewPage[DemandItem]:
    where = repository.DemandFilter(province, occupation, status, brand)
    return await views.demands(pool, viewer, where, after=cursor_id(cursor), limit=limit)


@router.get(
    "/placements",
    tags=["placements"],
    summary="List the placements of your province, either side (projection)",
    description="Provinces only: the ministry and observers read placements as aggregates "
    "(403 here). The filters are the placements service's." + FRESHNESS,
    response_model=ViewPage[PlacementItem],
    responses=problem_responses(Forbidden),
)
async def list_placements(
    viewer: Caller,
    pool: DbPool,
    views: Use,
    origin: ProvinceQuery = None,
    destination: ProvinceQuery = None,
    status: PlacementStatus | None = None,
    brand: UUID | None = None,
    agreement: UUID | None = None,
    period: Annotated[Period | None, Query(description="proposed in this year or quarter")] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> ViewPage[PlacementItem]:
    where = repository.PlacementFilter(
        "",
        origin,
        destination,
        status,
        brand,
        agreement,
        period_bounds(period, views.timezone) if period else None,
    )
    return await views.placements(pool, viewer, where, after=cursor_id(cursor), limit=limit)


@router.get(
    "/provinces",
    tags=["views"],
    summary="Every province with its headline figures",
    description="Provinces and the ministry (observers: 403)." + FRESHNESS,
    response_model=ViewPage[ProvinceSummary],
    responses=problem_responses(Forbidden),
)
async def list_provinces(
    viewer: Caller, pool: DbPool, views: Use, limit: Limit = 50, cursor: Cursor = None
) -> ViewPage[ProvinceSummary]:
    position = decode_cursor(cursor) if cursor is not None else None
    return await views.provinces(pool, viewer, cursor=position, limit=limit)


@router.get(
    "/provinces/{code}/overview",
    tags=["views"],
    summary="A province's overview",
    description="Its brands with their latest indicators, agreements by kind and status, "
    "placements from and to it by status and month, its workers by availability, its top "
    "corridors and brands, and target against actual per active agreement and corridor. Any "
    "province may read another's overview: the aggregates are the same, and the targets list "
    "only agreements the caller is a party to. Observers: 403." + FRESHNESS,
    response_model=ProvinceOverview,
    responses=problem_responses(Forbidden),
)
async def province_overview(
    code: Annotated[ProvinceCode, Path(description="GB/T 2260 province code")],
    viewer: Caller,
    pool: DbPool,
    views: Use,
) -> ProvinceOverview:
    return await views.province_overview(pool, viewer, code)


@router.get(
    "/corridors",
    tags=["views"],
    summary="Flows from origin to destination provinces",
    description="Every corridor with placements or covered by an active agreement: its "
    "placements by status and month, and the agreements covering it (those the caller may see, "
    "with the corridor's targets and actuals). Observers: 403." + FRESHNESS,
    response_model=ViewPage[Corridor],
    responses=problem_responses(Forbidden),
)
async def list_corridors(
    viewer: Caller,
    pool: DbPool,
    views: Use,
    origin: ProvinceQuery = None,
    destination: ProvinceQuery = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> ViewPage[Corridor]:
    position = decode_cursor(cursor) if cursor is not None else None
    return await views.corridors(
        pool, viewer, origin=origin, destination=destination, cursor=position, limit=limit
    )


@router.get(
    "/brands/{brand_id}/impact",
    tags=["brands"],
    summary="What a brand achieved",
    description="Its indicators over time, the agreements linking it, the placements of its "
    "workers, their returns home and what followed. Observers: 403." + FRESHNESS,
    response_model=BrandImpact,
    responses=problem_responses(Forbidden, NotFound),
)
async def brand_impact(
    brand_id: Annotated[UUID, Path(description="The brand's id")],
    viewer: Caller,
    pool: DbPool,
    views: Use,
) -> BrandImpact:
    return await views.brand_impact(pool, viewer, brand_id)


@router.get(
    "/national/overview",
    tags=["views"],
    summary="The national overview",
    description="Every role may read it." + FRESHNESS,
    response_model=NationalOverview,
    responses=problem_responses(Forbidden),
)
async def national_overview(viewer: Caller, pool: DbPool, views: Use) -> NationalOverview:
    return await views.national(pool, viewer)
