"""The workers' use cases: register, update, mark availability, record and withdraw consent,
and read a record, in the clear only to whom it may be shown, every such read audited.

Sealing and opening happen here, with the service's :class:`~laborcoop.placements.protection.
Keyring`: the aggregate holds sealed values only. Each value is sealed with its worker's id and
field name as associated data, so a sealed value moved to another row or column does not open.
"""

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date
from typing import Any, Final
from uuid import UUID
from zoneinfo import ZoneInfo

from laborcoop.common.clock import Clock, utc_now
from laborcoop.common.db import Connection, Reader
from laborcoop.common.principal import Principal
from laborcoop.common.problems import Forbidden, InvalidInput, NotFound
from laborcoop.common.store import AggregateStore
from laborcoop.common.unit_of_work import UnitOfWork
from laborcoop.common.versioning import precondition
from laborcoop.contracts.codes import BrandStatus, ConsentScope
from laborcoop.contracts.identifiers import mask_name, mask_phone, mask_resident_id
from laborcoop.contracts.ids import uuid7
from laborcoop.placements.protection import Keyring, open_flag, seal_flag
from laborcoop.placements.workers import repository
from laborcoop.placements.workers.domain import Profile, Sealed, Worker, identity_facts

PERSONAL_FIELDS: Final = ("name", "resident_id", "phone", "poverty_alleviation")
_SHOWN_BY_CONSENT: Final = {
    ConsentScope.CONTACT: ("name", "phone"),
    ConsentScope.IDENTITY: ("name", "resident_id", "phone"),
}


@dataclass(frozen=True)
class Person:
    """The personal data of a worker, in the clear, as the origin province sent it (validated)."""

    name: str
    resident_id: str
    phone: str
    poverty_alleviation: bool


@dataclass(frozen=True)
class Disclosure:
    """A worker record as one caller may see it: ``clear`` names the personal fields shown in the
    clear (each read audited); the others are masked, and the poverty-alleviation flag is shown
    only to the origin province."""

    worker: Worker
    name: str
    resident_id: str
    phone: str
    poverty_alleviation: bool | None
    clear: tuple[str, ...]

    @property
    def to_origin(self) -> bool:
        return self.poverty_alleviation is not None


def _context(worker_id: UUID, field: str) -> str:
    return f"{worker_id}/{field}"


def seal_person(ring: Keyring, worker_id: UUID, person: Person) -> Sealed:
    """The person's data sealed for the row of ``worker_id``, with the blind index."""
    return Sealed(
        name=ring.seal(person.name, context=_context(worker_id, "name")),
        resident_id=ring.seal(person.resident_id, context=_context(worker_id, "resident_id")),
        phone=ring.seal(person.phone, context=_context(worker_id, "phone")),
        poverty_alleviation=seal_flag(
            ring, person.poverty_alleviation, context=_context(worker_id, "poverty_alleviation")
        ),
        id_index=ring.blind_index(person.resident_id),
    )


def open_person(ring: Keyring, worker: Worker) -> Person:
    sealed = worker.sealed
    return Person(
        name=ring.open(sealed.name, context=_context(worker.id, "name")),
        resident_id=ring.open(sealed.resident_id, context=_context(worker.id, "resident_id")),
        phone=ring.open(sealed.phone, context=_context(worker.id, "phone")),
        poverty_alleviation=open_flag(
            ring, sealed.poverty_alleviation, context=_context(worker.id, "poverty_alleviation")
        ),
    )


def reseal(ring: Keyring, worker_id: UUID, sealed: Sealed) -> Sealed:
    """The same values under the ring's current key (``rotate-keys``)."""
    resealed = {
        f: ring.reseal(getattr(sealed, f), context=_context(worker_id, f)) for f in PERSONAL_FIELDS
    }
    return Sealed(**resealed, id_index=sealed.id_index)


def disclose(worker: Worker, person: Person, clear: tuple[str, ...], to_origin: bool) -> Disclosure:
    return Disclosure(
        worker=worker,
        name=person.name if "name" in clear else mask_name(person.name),
        resident_id=(
            person.resident_id if "resident_id" in clear else mask_resident_id(person.resident_id)
        ),
        phone=person.phone if "phone" in clear else mask_phone(person.phone),
        poverty_alleviation=person.poverty_alleviation if to_origin else None,
        clear=clear,
    )


def reading_province(principal: Principal) -> str:
    """Worker records are read by provinces only: the ministry reads aggregates."""
    if principal.own_province is None:
        raise Forbidden("worker records are read by provinces only; the ministry reads aggregates")
    return principal.own_province


@dataclass(frozen=True)
class Workers:
    """The workers' use cases, bound to the key ring, the calendar and the clock."""

    ring: Keyring
    timezone: ZoneInfo
    clock: Clock = utc_now
    workers: AggregateStore[Worker] = repository.WORKER_STORE

    def today(self) -> date:
        return self.clock().astimezone(self.timezone).date()

    async def history_types(self, conn: Connection, principal: Principal, worker_id: UUID) -> None:
        """A worker's events carry no personal data, but its history is the origin's record
        keeping: only the origin province reads it (404 for others)."""
        await self.workers.require(conn, worker_id, _kept_by(principal))

    async def register(
        self, uow: UnitOfWork, principal: Principal, person: Person, profile: Profile
    ) -> Worker:
        worker_id = uuid7()
        await self._check_brand(uow, principal, profile.brand_id)
        worker = Worker.register(
            principal,
            worker_id=worker_id,
            facts=identity_facts(person.resident_id),
            sealed=seal_person(self.ring, worker_id, person),
            profile=profile,
            now=self.clock(),
        )
        self.workers.add(uow, worker)
        return worker

    async def update(
        self,
        uow: UnitOfWork,
        principal: Principal,
        worker_id: UUID,
        if_match: str | None,
        changes: dict[str, Any],
    ) -> Worker:
        worker = await self.workers.load(uow, worker_id, visible=_kept_by(principal))
        await self._check_brand(uow, principal, changes.get("brand_id"))
        with precondition(if_match, worker.version, required=True):
            worker.update(principal, replace(worker.profile, **changes), self.clock())
        self.workers.save(uow, worker)
        return worker

    async def set_availability(
        self,
        uow: UnitOfWork,
        principal: Principal,
        worker_id: UUID,
        if_match: str | None,
        available: bool,
    ) -> Worker:
        worker = await self.workers.load(uow, worker_id, visible=_kept_by(principal))
        with precondition(if_match, worker.version):
            worker.set_available(principal, available, self.clock())
        self.workers.save(uow, worker)
        return worker

    async def grant_consent(
        self,
        uow: UnitOfWork,
        principal: Principal,
        worker_id: UUID,
        if_match: str | None,
        province: str,
        scope: ConsentScope,
        until: date | None,
    ) -> Worker:
        worker = await self.workers.load(uow, worker_id, visible=_kept_by(principal))
        with precondition(if_match, worker.version):
            worker.grant_consent(
                principal,
                province=province,
                scope=scope,
                until=until,
                today=self.today(),
                now=self.clock(),
            )
        self.workers.save(uow, worker)
        return worker

    async def withdraw_consent(
        self,
        uow: UnitOfWork,
        principal: Principal,
        worker_id: UUID,
        if_match: str | None,
        province: str,
        scope: ConsentScope,
    ) -> Worker:
        worker = await self.workers.load(uow, worker_id, visible=_kept_by(principal))
        with precondition(if_match, worker.version):
            worker.withdraw_consent(principal, province=province, scope=scope, now=self.clock())
        self.workers.save(uow, worker)
        return worker

    async def read(
        self, conn: Connection, principal: Principal, worker_id: UUID, purpose: str
    ) -> Disclosure:
        """The record as ``principal`` may see it; each read in the clear is audited first, in
        the caller's transaction, so nothing is shown that was not logged."""
        province = reading_province(principal)
        worker = await self.workers.require(conn, worker_id)
        clear = await self._clear_fields(conn, worker, province)
        person = open_person(self.ring, worker)
        if clear:
            read = repository.Read(
                0, worker.id, principal.client_id, province, clear, purpose, self.clock()
            )
            await repository.log_read(conn, worker, read)
        return disclose(worker, person, clear, to_origin=worker.origin == province)

    def masked(self, worker: Worker, principal: Principal) -> Disclosure:
        """The record with every personal field masked (lists, and answers to commands)."""
        to_origin = principal.own_province == worker.origin
        return disclose(worker, open_person(self.ring, worker), (), to_origin)

    async def reads(
        self,
        conn: Connection,
        principal: Principal,
        worker_id: UUID,
        *,
        after: int | None,
        limit: int,
    ) -> list[repository.Read]:
        """The audit of the worker's reads in the clear: its origin province only."""
        reading_province(principal)
        await self.workers.require(conn, worker_id, visible=_kept_by(principal))
        return await repository.reads(conn, worker_id, after=after, limit=limit)

    async def _clear_fields(
        self, conn: Connection, worker: Worker, province: str
    ) -> tuple[str, ...]:
        if worker.origin == province:
            return PERSONAL_FIELDS
        today = self.today()
        for scope in (ConsentScope.IDENTITY, ConsentScope.CONTACT):
            if worker.consent_of(province, scope, today) is not None:
                return _SHOWN_BY_CONSENT[scope]
        named = any(c.province == province for c in worker.consents)
        if not named and not await repository.placed_with(conn, worker.id, province):
            raise NotFound(f"no worker {worker.id}")
        return ()

    async def _check_brand(self, conn: Reader, principal: Principal, brand_id: UUID | None) -> None:
        """A worker's brand is a brand of the worker's province, not retired, as this service's
        copy of the register knows it (eventually consistent with the registry)."""
        if brand_id is None:
            return
        found = await repository.brand_of_province(conn, brand_id)
        if found is None:
            raise InvalidInput.field("brand_id", "no such brand in the register (yet)")
        province, status = found
        if province != principal.own_province:
            raise InvalidInput.field("brand_id", "a brand of another province")
        if status == BrandStatus.RETIRED:
            raise InvalidInput.field("brand_id", "the brand is retired")


def _kept_by(principal: Principal) -> Callable[[Worker], bool]:
    """Commands on a record: 404 unless the caller is its origin province (403 for the ministry
    and observers, which act on no record)."""
    reading_province(principal)
    return lambda worker: worker.is_kept_by(principal)
