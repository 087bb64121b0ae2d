"""The placements' use cases, one method each. A placement's commands that change its worker or
its demand load them in the same unit of work, always in the order placement → worker → demand,
so concurrent commands never wait for each other in a cycle."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from uuid import UUID
from zoneinfo import ZoneInfo

from laborcoop.common.clock import Clock, utc_now
from laborcoop.common.db import Connection
from laborcoop.common.principal import Principal
from laborcoop.common.problems import Forbidden, InvalidInput
from laborcoop.common.store import AggregateStore, Lock
from laborcoop.common.unit_of_work import UnitOfWork
from laborcoop.common.versioning import precondition
from laborcoop.contracts.codes import ConsentScope, ReturnPath
from laborcoop.placements import corridors
from laborcoop.placements.demands.domain import Demand
from laborcoop.placements.demands.repository import DEMAND_STORE
from laborcoop.placements.placements import repository
from laborcoop.placements.placements.domain import Match, Placement
from laborcoop.placements.workers.domain import Worker
from laborcoop.placements.workers.repository import WORKER_STORE


def current_periods(today: date) -> tuple[str, str]:
    """The year and the quarter ``today`` is in, as targets name periods."""
    return str(today.year), f"{today.year}-Q{(today.month - 1) // 3 + 1}"


def record_reader(principal: Principal) -> str:
    """Placements are records of people: provinces only (the caller's own); the ministry and
    observers read aggregates."""
    if principal.own_province is None:
        raise Forbidden("placements are read by provinces only; the ministry reads aggregates")
    return principal.own_province


@dataclass(frozen=True)
class Placements:
    timezone: ZoneInfo
    clock: Clock = utc_now
    placements: AggregateStore[Placement] = repository.PLACEMENT_STORE
    workers: AggregateStore[Worker] = WORKER_STORE
    demands: AggregateStore[Demand] = DEMAND_STORE

    def today(self) -> date:
        return self.clock().astimezone(self.timezone).date()

    async def visible(
        self, conn: Connection, principal: Principal, placement_id: UUID
    ) -> Placement:
        record_reader(principal)
        return await self.placements.require(conn, placement_id, _visible_to(principal))

    async def history_types(self, conn: Connection, principal: Principal, subject: UUID) -> None:
        await self.visible(conn, principal, subject)

    async def propose(
        self,
        uow: UnitOfWork,
        principal: Principal,
        worker_id: UUID,
        demand_id: UUID,
        agreement_id: UUID | None,
        outside_agreement: bool,
    ) -> Placement:
        record_reader(principal)
        demand = await self.demands.load(uow, demand_id, lock=Lock.NONE)
        demand.require_poster(principal, "propose placements on it")
        demand.require_open("propose a placement on")
        worker = await self.workers.load(uow, worker_id, lock=Lock.NONE)
        worker.require_available()
        match = await self._match(uow, worker, demand, agreement_id, outside_agreement)
        placement = Placement.propose(principal, match, today=self.today(), now=self.clock())
        self.placements.add(uow, placement)
        return placement

    async def accept(
        self, uow: UnitOfWork, principal: Principal, placement_id: UUID, if_match: str | None
    ) -> Placement:
        placement = await self._load(uow, principal, placement_id)
        worker = await self.workers.load(uow, placement.match.worker_id)
        demand = await self.demands.load(uow, placement.match.demand_id)
        consent = worker.consent_of(
            placement.match.destination, ConsentScope.IDENTITY, self.today()
        )
        with precondition(if_match, placement.version):
            placement.accept(principal, identity_consent=consent is not None, now=self.clock())
        worker.place(self.clock())
        demand.count_acceptance(self.clock())
        self._save(uow, placement, worker, demand)
        return placement

    async def decline(
        self,
        uow: UnitOfWork,
        principal: Principal,
        placement_id: UUID,
        if_match: str | None,
        reason: str,
    ) -> Placement:
        placement = await self._load(uow, principal, placement_id)
        with precondition(if_match, placement.version):
            placement.decline(principal, reason, self.clock())
        self.placements.save(uow, placement)
        return placement

    async def onboard(
        self,
        uow: UnitOfWork,
        principal: Principal,
        placement_id: UUID,
        if_match: str | None,
        on: date,
    ) -> Placement:
        placement = await self._load(uow, principal, placement_id)
        with precondition(if_match, placement.version):
            placement.onboard(principal, on, today=self.today(), now=self.clock())
        self.placements.save(uow, placement)
        return placement

    async def reach_milestone(
        self,
        uow: UnitOfWork,
        principal: Principal,
        placement_id: UUID,
        if_match: str | None,
        months: int,
        on: date,
    ) -> Placement:
        placement = await self._load(uow, principal, placement_id)
        with precondition(if_match, placement.version):
            placement.reach_milestone(principal, months, on, today=self.today(), now=self.clock())
        self.placements.save(uow, placement)
        return placement

    async def complete(
        self,
        uow: UnitOfWork,
        principal: Principal,
        placement_id: UUID,
        if_match: str | None,
        on: date,
    ) -> Placement:
        placement = await self._load(uow, principal, placement_id)
        with precondition(if_match, placement.version):
            placement.complete(principal, on, today=self.today(), now=self.clock())
        await self._ended(uow, placement)
        return placement

    async def terminate(
        self,
        uow: UnitOfWork,
        principal: Principal,
        placement_id: UUID,
        if_match: str | None,
        reason: str,
    ) -> Placement:
        placement = await self._load(uow, principal, placement_id)
        with precondition(if_match, placement.version):
            placement.terminate(principal, reason, today=self.today(), now=self.clock())
        await self._ended(uow, placement)
        return placement

    async def return_home(
        self,
        uow: UnitOfWork,
        principal: Principal,
        placement_id: UUID,
        if_match: str | None,
        on: date,
        follow_up: ReturnPath,
        note: str | None,
    ) -> Placement:
        placement = await self._load(uow, principal, placement_id)
        held_the_worker = placement.is_live  # a completed or terminated one freed it already
        with precondition(if_match, placement.version):
            placement.return_home(
                principal, on, follow_up, note, today=self.today(), now=self.clock()
            )
        if held_the_worker:
            await self._ended(uow, placement)
        else:
            self.placements.save(uow, placement)
        return placement

    async def _load(self, uow: UnitOfWork, principal: Principal, placement_id: UUID) -> Placement:
        record_reader(principal)
        return await self.placements.load(uow, placement_id, visible=_visible_to(principal))

    async def _ended(self, uow: UnitOfWork, placement: Placement) -> None:
        """The placement ended (it was loaded, and locked, first): its worker is free again."""
        worker = await self.workers.load(uow, placement.match.worker_id)
        worker.release(self.clock())
        self._save(uow, placement, worker)

    def _save(
        self, uow: UnitOfWork, placement: Placement, worker: Worker, demand: Demand | None = None
    ) -> None:
        self.placements.save(uow, placement)
        self.workers.save(uow, worker)
        if demand is not None:
            self.demands.save(uow, demand)

    async def _match(
        self,
        uow: UnitOfWork,
        worker: Worker,
        demand: Demand,
        agreement_id: UUID | None,
        outside_agreement: bool,
    ) -> Match:
        """Who is placed where, and the agreement whose corridor target it counts against: the
        one named, or the first active agreement covering the corridor; none only when the
        proposal says it is outside any agreement."""
        origin, destination = worker.origin, demand.province
        covers = await corridors.covering_agreements(uow, origin, destination)
        if outside_agreement:
            if agreement_id is not None:
                raise InvalidInput.field(
                    "agreement_id", "a placement outside any agreement names none"
                )
            cover = None
        else:
            cover = _chosen(covers, agreement_id, f"{origin}>{destination}")
        beyond = cover is not None and await self._beyond_target(uow, cover, origin, destination)
        return Match(
            worker_id=worker.id,
            demand_id=demand.id,
            origin=origin,
            destination=destination,
            occupation=demand.posting.occupation,
            brand_id=worker.profile.brand_id,
            agreement_id=cover.agreement_id if cover else None,
            outside_agreement=outside_agreement,
            beyond_target=beyond,
        )

    async def _beyond_target(
        self, uow: UnitOfWork, cover: corridors.Cover, origin: str, destination: str
    ) -> bool:
        for period in current_periods(self.today()):
            target = cover.target(period)
            if target is None:
                continue
            # Concurrent proposals on one agreement's corridor count one after the other (the
            # lock is the transaction's): exactly those beyond the target are flagged.
            await uow.fetchval(
                "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
                f"target {cover.agreement_id} {origin}>{destination} {period}",
                lock=True,
            )
            counted = await repository.counted_against(
                uow,
                cover.agreement_id,
                origin,
                destination,
                period,
            )
            if counted >= target:
                return True
        return False


def _chosen(
    covers: list[corridors.Cover], agreement_id: UUID | None, corridor: str
) -> corridors.Cover:
    if agreement_id is not None:
        for cover in covers:
            if cover.agreement_id == agreement_id:
                return cover
        raise InvalidInput.field(
            "agreement_id", f"not an active agreement covering the corridor {corridor}"
        )
    if not covers:
        raise InvalidInput.field(
            "outside_agreement",
            f"no active agreement covers the corridor {corridor}: propose it as outside any "
            "agreement (outside_agreement: true) or under an agreement that covers it",
        )
    return covers[0]


def _visible_to(principal: Principal) -> Callable[[Placement], bool]:
    return lambda placement: placement.visible_to(principal)
