"""The placements routes: proposed by the receiving province, accepted or declined by the
origin, followed by either side to completion or the return home."""

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Path, Query, Response

from laborcoop.common.auth import CurrentPrincipal
from laborcoop.common.deps import DbPool, use_cases
from laborcoop.common.errors import Conflict, Forbidden, NotFound, problem_responses
from laborcoop.common.idempotency import Command
from laborcoop.common.pagination import Cursor, Limit, Page, cursor_id, page_of
from laborcoop.common.routes import AggregateRoutes, Representation
from laborcoop.common.versioning import IfMatch
from laborcoop.contracts.codes import Period, PlacementStatus
from laborcoop.contracts.provinces import ProvinceCode
from laborcoop.placements.exchange import LabourExchange
from laborcoop.placements.placements import repository
from laborcoop.placements.placements.schemas import (
    Dated,
    Decline,
    Milestone,
    PlacementCreate,
    PlacementOut,
    Return,
    Termination,
)
from laborcoop.placements.placements.service import Placements, record_reader

router = APIRouter(prefix="/v1/placements", tags=["placements"])

PlacementId = Annotated[UUID, Path(description="The placement's id")]
ProvinceQuery = Annotated[ProvinceCode | None, Query()]
ROUTES = AggregateRoutes(router, "placement_id", "placement", PlacementOut)
USES = use_cases(LabourExchange, lambda u: u.placements)
Use = Annotated[Placements, USES]
PLACEMENT = Representation(PlacementOut.of, "/v1/placements/{id}")


@router.post(
    "",
    status_code=201,
    response_model=PlacementOut,
    summary="Propose a worker for one of your demands",
    description="Only the demand's province, on an open demand, for an available worker of "
    "another province. A worker has at most one live placement (409).",
    responses=problem_responses(Forbidden, NotFound, Conflict),
)
async def propose_placement(body: PlacementCreate, command: Command, use: Use) -> Response:
    return await command.execute(
        lambda uow: use.propose(
            uow,
            command.principal,
            body.worker_id,
            body.demand_id,
            body.agreement_id,
            body.outside_agreement,
        ),
        PLACEMENT.created,
    )


@ROUTES.listing(Page[PlacementOut], "List the placements of your province (either side)")
async def list_placements(
    principal: CurrentPrincipal,
    pool: DbPool,
    origin: ProvinceQuery = None,
    destination: ProvinceQuery = None,
    status: PlacementStatus | None = None,
    brand: UUID | None = None,
    agreement: UUID | None = None,
    period: Annotated[Period | None, Query(description="proposed in this year or quarter")] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[PlacementOut]:
    where = repository.PlacementFilter(
        record_reader(principal),
        origin,
        destination,
        status.value if status else None,
        brand,
        agreement,
        repository.period_days(period) if period else None,
    )
    async with pool.acquire() as conn:
        found = await repository.search(conn, where, after=cursor_id(cursor), limit=limit + 1)
    return page_of([PlacementOut.of(p) for p in found], limit, lambda p: {"id": str(p.id)})


@ROUTES.one("One placement, with its ETag")
async def get_placement(
    placement_id: PlacementId, principal: CurrentPrincipal, pool: DbPool, use: Use
) -> Response:
    async with pool.acquire() as conn:
        placement = await use.visible(conn, principal, placement_id)
    return PLACEMENT.answer(placement)


@ROUTES.command(
    "acceptance",
    "Accept (origin province)",
    "Needs the worker's consent to share identity with the receiving province. Places the "
    "worker and counts against the demand's headcount (409 once it is reached).",
)
async def accept_placement(
    placement_id: PlacementId, command: Command, use: Use, if_match: IfMatch = None
) -> Response:
    return await command.execute(
        lambda uow: use.accept(uow, command.principal, placement_id, if_match), PLACEMENT.answer
    )


@ROUTES.command("declines", "Decline (origin province)")
async def decline_placement(
    placement_id: PlacementId, body: Decline, command: Command, use: Use, if_match: IfMatch = None
) -> Response:
    return await command.execute(
        lambda uow: use.decline(uow, command.principal, placement_id, if_match, body.reason),
        PLACEMENT.answer,
    )


@ROUTES.command("onboarding", "Record the first day at work (either side)")
async def onboard_placement(
    placement_id: PlacementId, body: Dated, command: Command, use: Use, if_match: IfMatch = None
) -> Response:
    return await command.execute(
        lambda uow: use.onboard(uow, command.principal, placement_id, if_match, body.on),
        PLACEMENT.answer,
    )


@ROUTES.command(
    "milestones",
    "Record a retention milestone (either side)",
    "3 months on the job, then 6: subsidies follow in many provinces.",
)
async def record_milestone(
    placement_id: PlacementId,
    body: Milestone,
    command: Command,
    use: Use,
    if_match: IfMatch = None,
) -> Response:
    return await command.execute(
        lambda uow: use.reach_milestone(
            uow, command.principal, placement_id, if_match, body.months, body.on
        ),
        PLACEMENT.answer,
    )


@ROUTES.command("completion", "Complete (either side)", "The worker is available again.")
async def complete_placement(
    placement_id: PlacementId, body: Dated, command: Command, use: Use, if_match: IfMatch = None
) -> Response:
    return await command.execute(
        lambda uow: use.complete(uow, command.principal, placement_id, if_match, body.on),
        PLACEMENT.answer,
    )


@ROUTES.command("termination", "Terminate early (either side)", "The worker is available again.")
async def terminate_placement(
    placement_id: PlacementId,
    body: Termination,
    command: Command,
    use: Use,
    if_match: IfMatch = None,
) -> Response:
    return await command.execute(
        lambda uow: use.terminate(uow, command.principal, placement_id, if_match, body.reason),
        PLACEMENT.answer,
    )


@ROUTES.command(
    "return",
    "Record the return home (返乡) and what followed (either side)",
    "After onboarding, completion or termination: a local job, a business start-up (返乡创业), "
    "training, or nothing yet.",
)
async def return_home(
    placement_id: PlacementId, body: Return, command: Command, use: Use, if_match: IfMatch = None
) -> Response:
    return await command.execute(
        lambda uow: use.return_home(
            uow, command.principal, placement_id, if_match, body.on, body.follow_up, body.note
        ),
        PLACEMENT.answer,
    )


ROUTES.history(name="placement_history", use=USES)
