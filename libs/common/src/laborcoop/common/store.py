"""The aggregate store: one kind of aggregate loaded, added, saved and listed through its table.

Every service's aggregates are stored the same way: a row per aggregate in the table its
:class:`~laborcoop.common.table.Table` describes, the events it recorded in ``event_history``
and the outbox. A use case loads (``SELECT … FOR UPDATE`` by default, or ``SKIP LOCKED`` for
background work that must not wait), calls the aggregate, and saves; the writes are staged in the
:class:`~laborcoop.common.unit_of_work.UnitOfWork` and sent as one statement when it commits, an
``UPDATE`` naming only the columns that changed. Within one unit of work an aggregate is loaded
once: a second load returns the same object, with what the use case did to it so far.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any, Final, Generic, TypeVar
from uuid import UUID

import asyncpg

from laborcoop.common.db import Connection
from laborcoop.common.errors import NotFound, Problem
from laborcoop.common.recording import RecordsEvents
from laborcoop.common.table import Table
from laborcoop.common.unit_of_work import UnitOfWork, Write

A = TypeVar("A", bound=RecordsEvents)

_UNKNOWN: Final = object()


class Lock(Enum):
    """How a use case holds the row it loads until its unit of work commits."""

    NONE = ""
    UPDATE = " FOR UPDATE"
    SKIP_LOCKED = " FOR UPDATE SKIP LOCKED"
    """Skip a row another transaction holds (background work: another replica has it)."""


class Where:
    """The conditions of a filtered list, each added only when its filter is given: a generic
    ``($1 IS NULL OR col = $1)`` hides from the planner which filters apply, so a cached plan
    would use none of their indexes. Values reach the SQL only as placeholders."""

    def __init__(self) -> None:
        self.conditions: list[str] = []
        self.args: list[Any] = []

    def add(self, template: str, *values: Any) -> "Where":
        """``template`` with a ``{}`` per value, unless a value is None (filter not given)."""
        if any(value is None for value in values):
            return self
        return self.always(template, *values)

    def always(self, template: str, *values: Any) -> "Where":
        placeholders = []
        for value in values:
            self.args.append(value)
            placeholders.append(f"${len(self.args)}")
        self.conditions.append(template.format(*placeholders))
        return self

    def placeholder(self, value: Any) -> str:
        """A placeholder for ``value`` outside the conditions (the page size)."""
        self.args.append(value)
        return f"${len(self.args)}"

    @property
    def sql(self) -> str:
        return f"WHERE {' AND '.join(self.conditions)}" if self.conditions else ""


@dataclass
class _Row(Generic[A]):
    """An aggregate staged in a unit of work, with the column values last sent or read."""

    store: "AggregateStore[A]"
    aggregate: A
    stored: dict[str, Any] | None
    saved: bool = False
    rendered: dict[str, Any] | None = None

    def render(self) -> Write | None:
        if not self.saved:
            return None
        table = self.store.table
        values = self.rendered = table.values(self.aggregate)
        if self.stored is None:
            return Write(self.store.insert, tuple(values.values()))
        changed = [c for c in table.mutable if values[c] != self.stored.get(c, _UNKNOWN)]
        if not changed:
            return None
        assignments = ", ".join(f"{c} = ${i}" for i, c in enumerate(changed, start=2))
        return Write(
            f"UPDATE {table.name} SET {assignments} WHERE id = $1",
            (self.aggregate.id, *(values[c] for c in changed)),
        )

    def sent(self) -> None:
        """The values last rendered are now the row's (a write is sent right after rendering)."""
        if self.saved:
            self.stored = self.rendered or self.store.table.values(self.aggregate)

    def conflict(self, constraint: str) -> Problem | None:
        explain = self.store.conflicts.get(constraint)
        return explain(self.aggregate) if explain else None


class AggregateStore(Generic[A]):
    """Loads, adds, saves and lists the aggregates of one table.

    ``noun`` names the aggregate in a 404 ("no brand …"); ``conflicts`` maps a unique constraint
    of the table to the problem its violation means (a duplicate name is a 409 naming the field).
    """

    def __init__(
        self,
        table: Table[A],
        *,
        noun: str,
        conflicts: Mapping[str, Callable[[A], Problem]] | None = None,
    ) -> None:
        self.table = table
        self.noun = noun
        self.conflicts = dict(conflicts or {})
        self.select = f"SELECT {', '.join(table.readable)} FROM {table.name}"
        placeholders = ", ".join(f"${i}" for i in range(1, len(table.columns) + 1))
        self.insert = (
            f"INSERT INTO {table.name} ({', '.join(table.columns)}) VALUES ({placeholders})"
        )

    # -- use cases (in a unit of work) -----------------------------------------------------------

    async def load(
        self,
        uow: UnitOfWork,
        aggregate_id: UUID,
        *,
        lock: Lock = Lock.UPDATE,
        visible: Callable[[A], bool] | None = None,
    ) -> A:
        """The aggregate, held with ``lock``; 404 when it is absent or ``visible`` says no."""
        aggregate = await self.find(uow, aggregate_id, lock=lock)
        if aggregate is None or (visible is not None and not visible(aggregate)):
            raise NotFound(f"no {self.noun} {aggregate_id}")
        return aggregate

    async def find(
        self, uow: UnitOfWork, aggregate_id: UUID, *, lock: Lock = Lock.UPDATE
    ) -> A | None:
        """Like :meth:`load`, but None when absent (or, with ``SKIP_LOCKED``, held)."""
        staged = uow.staged(self.table.name, aggregate_id)
        if isinstance(staged, _Row):
            found: A = staged.aggregate
            return found
        row = await uow.fetchrow(
            f"{self.select} WHERE id = $1{lock.value}", aggregate_id, lock=lock is not Lock.NONE
        )
        if row is None:
            return None
        aggregate = self.table.load(row)
        snapshot = self.table.values(aggregate)
        uow.stage(self.table.name, aggregate_id, _Row(self, aggregate, snapshot))
        return aggregate

    def add(self, uow: UnitOfWork, aggregate: A) -> None:
        """Stage a new aggregate's row and its events."""
        uow.stage(self.table.name, aggregate.id, _Row(self, aggregate, None, saved=True))
        uow.publish(aggregate.pending_events)

    def save(self, uow: UnitOfWork, aggregate: A) -> None:
        """Stage the changed columns of a loaded aggregate and its new events."""
        staged = uow.staged(self.table.name, aggregate.id)
        if not isinstance(staged, _Row):
            staged = _Row(self, aggregate, {})
            uow.stage(self.table.name, aggregate.id, staged)
        staged.saved = True
        uow.publish(aggregate.pending_events)

    # -- reads (any connection) -------------------------------------------------------------------

    async def get(self, conn: Connection, aggregate_id: UUID) -> A | None:
        row = await conn.fetchrow(f"{self.select} WHERE id = $1", aggregate_id)
        return self.table.load(row) if row else None

    async def require(
        self,
        conn: Connection,
        aggregate_id: UUID,
        visible: Callable[[A], bool] | None = None,
    ) -> A:
        """The aggregate for a read; 404 when it is absent or ``visible`` says no."""
        aggregate = await self.get(conn, aggregate_id)
        if aggregate is None or (visible is not None and not visible(aggregate)):
            raise NotFound(f"no {self.noun} {aggregate_id}")
        return aggregate

    def page_query(self, where: Where, *, after: UUID | None, limit: int) -> tuple[str, list[Any]]:
        """The SQL of :meth:`page` (a test runs ``EXPLAIN`` on exactly this)."""
        where.add("id > {}", after)
        size = where.placeholder(limit)
        return f"{self.select} {where.sql} ORDER BY id LIMIT {size}", where.args

    async def page(
        self, conn: Connection, where: Where, *, after: UUID | None, limit: int
    ) -> list[A]:
        """Up to ``limit`` aggregates matching ``where``, in id order after the cursor ``after``."""
        sql, args = self.page_query(where, after=after, limit=limit)
        rows: list[asyncpg.Record] = await conn.fetch(sql, *args)
        return [self.table.load(r) for r in rows]
