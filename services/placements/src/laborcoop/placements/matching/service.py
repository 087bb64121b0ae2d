"""The matching use cases: the workers for a demand, the demands for a worker.

Matching proposes across the corridors active agreements cover (``laborcoop.placements.
corridors``): a demand's province sees the available workers of the origins covered towards
it; a worker's origin province sees the open demands of the destinations covered from it. The
candidates come from the indexed queries of :mod:`.repository` (at most
``matching_candidates`` of them), the order from :mod:`.ranking`. Nothing personal is read.
"""

from dataclasses import dataclass
from uuid import UUID

from laborcoop.common.db import Reader
from laborcoop.common.principal import Principal
from laborcoop.common.problems import Forbidden, InvalidState, NotFound
from laborcoop.contracts.codes import Availability, DemandStatus
from laborcoop.placements.matching import repository
from laborcoop.placements.matching.ranking import (
    Candidate,
    Opening,
    Ranked,
    rank_candidates,
    rank_openings,
)
from laborcoop.placements.workers.service import reading_province


@dataclass(frozen=True)
class WorkerMatches:
    """The best workers for a demand, from the origins covered towards its province."""

    demand: Opening
    origins: list[str]
    considered: int
    matches: list[Ranked[Candidate]]


@dataclass(frozen=True)
class DemandMatches:
    """The best open demands for a worker, in the destinations covered from its origin."""

    worker: Candidate
    destinations: list[str]
    considered: int
    matches: list[Ranked[Opening]]


@dataclass(frozen=True)
class Matching:
    """The matching use cases; ``candidates`` bounds what the indexed query hands the ranking
    (``LABORCOOP_MATCHING_CANDIDATES``)."""

    candidates: int = 200

    async def for_demand(
        self, conn: Reader, principal: Principal, demand_id: UUID, limit: int
    ) -> WorkerMatches:
        """Demands are public: 404 only when there is none; 403 for any caller but the
        demand's own province; 409 unless it is open."""
        found = await repository.demand(conn, demand_id)
        if found is None:
            raise NotFound(f"no demand {demand_id}")
        demand = found.opening
        if not principal.acts_for(demand.province):
            raise Forbidden(f"only the demand's province ({demand.province}) matches workers to it")
        if found.status != DemandStatus.OPEN:
            raise InvalidState(found.status, "match workers to the demand")
        pool = await repository.candidates(conn, demand, found.origins, self.candidates)
        ranked = rank_candidates(demand, pool, limit)
        return WorkerMatches(demand, found.origins, len(pool), ranked)

    async def for_worker(
        self, conn: Reader, principal: Principal, worker_id: UUID, limit: int
    ) -> DemandMatches:
        """Worker records are the origin province's: 403 for the ministry and observers, 404
        for any other province (as for the record itself); 409 unless the worker is
        available."""
        reading_province(principal)
        found = await repository.worker(conn, worker_id)
        if found is None or not principal.acts_for(found.candidate.origin):
            raise NotFound(f"no worker {worker_id}")
        worker = found.candidate
        if found.availability != Availability.AVAILABLE:
            raise InvalidState(found.availability, "match demands to the worker")
        pool = await repository.openings(conn, worker, found.destinations, self.candidates)
        ranked = rank_openings(worker, pool, limit)
        return DemandMatches(worker, found.destinations, len(pool), ranked)
