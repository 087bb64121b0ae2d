"""The matching routes: the best workers for a demand, the best demands for a worker, across the
corridors active agreements cover; answers carry no personal data."""

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Path, Query

from laborcoop.common.auth import CurrentPrincipal
from laborcoop.common.deps import DbPool, use_cases
from laborcoop.common.errors import Conflict, Forbidden, NotFound, problem_responses
from laborcoop.placements.exchange import LabourExchange
from laborcoop.placements.matching.schemas import DemandMatchesOut, WorkerMatchesOut
from laborcoop.placements.matching.service import Matching

router = APIRouter(tags=["matching"])

USES = use_cases(LabourExchange, lambda u: u.matching)
Use = Annotated[Matching, USES]
DemandId = Annotated[UUID, Path(description="The demand's id")]
WorkerId = Annotated[UUID, Path(description="The worker's opaque id")]
MatchLimit = Annotated[int, Query(ge=1, le=100, description="How many matches (at most 100)")]


@router.get(
    "/v1/demands/{demand_id}/matches",
    response_model=WorkerMatchesOut,
    summary="The best available workers for your demand",
    description="Only the demand's province (403 for any other caller), on an open demand "
    "(409 otherwise). Workers come from the origins an active agreement covers towards the "
    "demand's province, exact occupation first, then its group (`d-dd`); each with a score "
    "and its reasons. No personal data: a worker is its opaque id and profile.",
    responses=problem_responses(Forbidden, NotFound, Conflict),
)
async def match_workers(
    demand_id: DemandId, principal: CurrentPrincipal, pool: DbPool, use: Use, limit: MatchLimit = 20
) -> WorkerMatchesOut:
    async with pool.acquire() as conn:
        found = await use.for_demand(conn, principal, demand_id, limit)
    return WorkerMatchesOut.of(found)


@router.get(
    "/v1/workers/{worker_id}/matches",
    response_model=DemandMatchesOut,
    summary="The best open demands for your worker",
    description="Only the worker's origin province (404 for other provinces, 403 for the "
    "ministry and observers), for an available worker (409 otherwise). Demands come from the "
    "destinations an active agreement covers from the worker's origin, the worker's "
    "occupations first, then their groups (`d-dd`); each with a score and its reasons.",
    responses=problem_responses(Forbidden, NotFound, Conflict),
)
async def match_demands(
    worker_id: WorkerId, principal: CurrentPrincipal, pool: DbPool, use: Use, limit: MatchLimit = 20
) -> DemandMatchesOut:
    async with pool.acquire() as conn:
        found = await use.for_worker(conn, principal, worker_id, limit)
    return DemandMatchesOut.of(found)
