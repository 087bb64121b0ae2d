"""The agreements service's storage: the agreement table described once, its list query, the
scheduler's query and the copy of the register. Reads take a connection (or, inside a use case,
its unit of work); writes are staged in the caller's unit of work by :data:`AGREEMENT_STORE`."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any
from uuid import UUID

from laborcoop.agreements.domain import PUBLIC_STATES, Agreement
from laborcoop.common.auth import Principal, Role
from laborcoop.common.db import Connection
from laborcoop.common.store import AggregateStore, Where
from laborcoop.common.table import Table
from laborcoop.common.unit_of_work import UnitOfWork


def corridor(origin: str, destination: str) -> str:
    return f"{origin}>{destination}"


def _corridors(agreement: Agreement) -> list[str]:
    return sorted({corridor(t.origin, t.destination) for t in agreement.terms.targets})


AGREEMENTS = Table(
    Agreement,
    "agreements",
    # Copies of `terms` (which alone is read back), written with every change of the terms so
    # that SQL can filter on them: never edit them on their own.
    derived={
        # search_query's visibility of drafts (mirrors Agreement.visible_to).
        "initiator": lambda a: a.initiator,
        # the `kind` filter: agreements_kind (kind, id), migration 0002.
        "kind": lambda a: a.terms.kind.value,
        # the `party` filter and the visibility of proposals: agreements_parties (GIN).
        "parties": lambda a: a.parties,
        # the `area` filter: agreements_areas (GIN).
        "areas": lambda a: [area.value for area in a.terms.areas],
        # the `brand` filter: agreements_brands (GIN).
        "linked_brands": lambda a: list(a.terms.linked_brands),
        # the corridor filters: agreements_corridors, and the origins and destinations indexes
        # of migration 0002.
        "corridors": _corridors,
        # the scheduler's `due` (agreements_due) and the `active_on` filter (agreements_in_force).
        "effective_from": lambda a: a.terms.effective_from,
        "effective_to": lambda a: a.terms.effective_to,
    },
)
"""The ``agreements`` table of migrations 0001 and 0002: the aggregate's attributes (``terms`` and
``amendment`` as JSON, the signatures as JSON of ISO timestamps) and the derived columns."""

AGREEMENT_STORE = AggregateStore(AGREEMENTS, noun="agreement")


async def due(conn: Connection, today: date, limit: int) -> list[UUID]:
    """The agreements :meth:`Agreement.due` on ``today`` (the scheduler re-checks each one)."""
    rows = await conn.fetch(
        """SELECT id FROM agreements
           WHERE (status = 'signed' AND effective_from <= $1)
              OR (status = 'active' AND effective_to < $1)
           ORDER BY id LIMIT $2""",
        today,
        limit,
    )
    return [r["id"] for r in rows]


@dataclass(frozen=True)
class Corridor:
    """A filter on the corridors of the targets: both ends, or either end alone."""

    origin: str | None
    destination: str | None


def corridor_pattern(origin: str | None, destination: str | None) -> Corridor | None:
    """The corridor filter of a list query, or None when it names neither end."""
    if origin is None and destination is None:
        return None
    return Corridor(origin, destination)


@dataclass(frozen=True)
class AgreementFilter:
    party: str | None = None
    kind: str | None = None
    status: str | None = None
    area: str | None = None
    brand: UUID | None = None
    corridor: Corridor | None = None
    active_on: date | None = None
    timezone: str = "Asia/Shanghai"


async def search(
    conn: Connection,
    viewer: Principal,
    where: AgreementFilter,
    *,
    after: UUID | None,
    limit: int,
) -> list[Agreement]:
    """Agreements ``viewer`` may see: public ones, drafts it initiated, proposals it is party to."""
    sql, args = search_query(viewer, where, after=after, limit=limit)
    return [AGREEMENTS.load(r) for r in await conn.fetch(sql, *args)]


_CONDITIONS = {
    "party": "parties @> ARRAY[{}::text]",
    "kind": "kind = {}",
    "status": "status = {}",
    "area": "areas @> ARRAY[{}::text]",
    "brand": "linked_brands @> ARRAY[{}::uuid]",
}
"""The SQL of each equality or containment filter; ``{}`` becomes the value's placeholder.
Containment is written ``@>``, which the GIN indexes of the arrays serve (``= ANY`` is not)."""

_VISIBLE = (
    "(status = ANY({}::text[]) OR (status = 'draft' AND initiator = {})"
    " OR (status <> 'draft' AND parties @> ARRAY[{}::text]))"
)
"""Agreement.visible_to in SQL: the public states, drafts to their initiator, the other states
(proposals, signed) to their parties. A change of that rule changes this condition too."""

_WAS_PUBLIC = ", ".join(f"'{state.value}'" for state in sorted(PUBLIC_STATES))
_IN_FORCE = (
    "status IN (" + _WAS_PUBLIC + ")"
    " AND daterange(effective_from, effective_to, '[]') @> {0}::date"
    " AND (status <> 'terminated' OR (updated_at AT TIME ZONE {1})::date > {0})"
)
"""In force on a day (also if it has ended since): ``agreements_in_force`` serves the range. The
states are constants in the SQL, as in that partial index's predicate (the public states), so
that the planner sees the index applies."""


def search_query(
    viewer: Principal, where: AgreementFilter, *, after: UUID | None, limit: int
) -> tuple[str, list[Any]]:
    """The SQL of :func:`search` and its arguments, with a condition only for each filter given.

    ``kind`` and ``status`` have indexes in cursor order, ``(column, id)``. The others are
    containment or ranges, served by GIN and GiST indexes that cannot return rows in id order: a
    top-N sort of the matches follows them."""
    own = viewer.province if viewer.has(Role.PROVINCE) and viewer.province else ""
    conditions = Where().always(
        _VISIBLE, [state.value for state in sorted(PUBLIC_STATES)], own, own
    )
    for name, template in _CONDITIONS.items():
        value = getattr(where, name)
        conditions.add(template, value if value is None or isinstance(value, UUID) else str(value))
    _corridor(conditions, where.corridor)
    conditions.add(_IN_FORCE, where.active_on, where.timezone)
    return AGREEMENT_STORE.page_query(conditions, after=after, limit=limit)


def _corridor(where: Where, wanted: Corridor | None) -> None:
    """Both ends: the corridor itself (``agreements_corridors``); one end: the origins or the
    destinations of the corridors (the expression indexes of migration 0002)."""
    if wanted is None:
        return
    if wanted.origin is not None and wanted.destination is not None:
        where.add("corridors @> ARRAY[{}::text]", corridor(wanted.origin, wanted.destination))
    else:
        where.add("corridor_origins(corridors) @> ARRAY[{}::text]", wanted.origin)
        where.add("corridor_destinations(corridors) @> ARRAY[{}::text]", wanted.destination)


async def brand_statuses(uow: UnitOfWork, brand_ids: Sequence[UUID]) -> dict[UUID, str]:
    """The status of each of ``brand_ids`` this service's copy of the register knows."""
    rows = await uow.fetch(
        "SELECT brand_id, status FROM brand_copy WHERE brand_id = ANY($1::uuid[])", brand_ids
    )
    return {r["brand_id"]: r["status"] for r in rows}
