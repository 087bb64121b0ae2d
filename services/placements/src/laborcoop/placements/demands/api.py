"""The demands routes: posted by receiving provinces, public to every province (no personal
data), closed by their province, expired by the scheduler."""

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Path, Query, Response

from laborcoop.common.auth import CurrentPrincipal
from laborcoop.common.deps import DbPool, use_cases
from laborcoop.common.errors import Forbidden, problem_responses
from laborcoop.common.idempotency import Command
from laborcoop.common.pagination import Cursor, Limit, Page, cursor_id, page_of
from laborcoop.common.routes import AggregateRoutes, Representation
from laborcoop.common.versioning import IfMatch
from laborcoop.contracts.codes import DemandStatus, OccupationCode
from laborcoop.contracts.provinces import ProvinceCode
from laborcoop.placements.demands import repository
from laborcoop.placements.demands.schemas import Closure, DemandCreate, DemandOut
from laborcoop.placements.demands.service import Demands
from laborcoop.placements.exchange import LabourExchange

router = APIRouter(prefix="/v1/demands", tags=["demands"])

DemandId = Annotated[UUID, Path(description="The demand's id")]
ROUTES = AggregateRoutes(router, "demand_id", "demand", DemandOut)
USES = use_cases(LabourExchange, lambda u: u.demands)
Use = Annotated[Demands, USES]
DEMAND = Representation(DemandOut.of, "/v1/demands/{id}")


@router.post(
    "",
    status_code=201,
    response_model=DemandOut,
    summary="Post a demand for one of your province's employers",
    description="The calling province is the receiving province; the work location must be "
    "in it. A `shared_employee` secondment (共享员工) has an end date.",
    responses=problem_responses(Forbidden),
)
async def post_demand(body: DemandCreate, command: Command, use: Use) -> Response:
    return await command.execute(
        lambda uow: use.post(uow, command.principal, body.posting(), body.open_until),
        DEMAND.created,
    )


@ROUTES.listing(Page[DemandOut], "List demands")
async def list_demands(
    principal: CurrentPrincipal,
    pool: DbPool,
    province: Annotated[ProvinceCode | None, Query()] = None,
    occupation: Annotated[OccupationCode | None, Query()] = None,
    status: DemandStatus | None = None,
    brand: Annotated[UUID | None, Query(description="names this brand as preferred")] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[DemandOut]:
    where = repository.DemandFilter(province, occupation, status.value if status else None, brand)
    async with pool.acquire() as conn:
        found = await repository.search(conn, where, after=cursor_id(cursor), limit=limit + 1)
    return page_of([DemandOut.of(d) for d in found], limit, lambda d: {"id": str(d.id)})


@ROUTES.one("One demand, with its ETag")
async def get_demand(
    demand_id: DemandId, principal: CurrentPrincipal, pool: DbPool, use: Use
) -> Response:
    async with pool.acquire() as conn:
        demand = await use.demands.require(conn, demand_id)
    return DEMAND.answer(demand)


@ROUTES.command("closure", "Close an open demand", "Only its province.")
async def close_demand(
    demand_id: DemandId, body: Closure, command: Command, use: Use, if_match: IfMatch = None
) -> Response:
    return await command.execute(
        lambda uow: use.close(uow, command.principal, demand_id, if_match, body.reason),
        DEMAND.answer,
    )


ROUTES.history(name="demand_history", use=USES)
