"""One command's unit of work: its reads now, its writes in one statement at the end.

A use case reads through the unit of work and stages what it changes: aggregates (through their
:class:`~laborcoop.common.store.AggregateStore`), the events they recorded, and any other row
(:meth:`UnitOfWork.write`). :meth:`UnitOfWork.commit` sends every staged write as a single
statement (one data-modifying CTE each), together with the idempotency claim and the stored
answer when the command has a key. A command without a key that reads nothing first (a
registration) therefore costs one round trip to PostgreSQL and is atomic without
``BEGIN``/``COMMIT``; with a key it runs in a transaction, rolled back when the claim finds its
key taken. A use case that locks a row (``SELECT … FOR UPDATE``) or reads after
staging a write runs in a transaction, begun on that read; staged writes are sent before any read,
so a read sees everything the use case did before it.
"""

import re
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Protocol
from uuid import UUID

import asyncpg
from asyncpg.transaction import Transaction

from laborcoop.common.db import Connection, Pool
from laborcoop.common.errors import Problem
from laborcoop.common.outbox import INSERT_OUTBOX, outbox_columns
from laborcoop.common.settings import ServiceSettings
from laborcoop.contracts.envelope import CloudEvent

_PLACEHOLDER = re.compile(r"\$(\d+)")


@dataclass(frozen=True)
class Write:
    """One data-modifying statement (``$1``… are its own placeholders) and its arguments."""

    sql: str
    args: tuple[Any, ...] = ()


def one_statement(writes: Sequence[Write], main: Write | None = None) -> Write:
    """``writes`` as data-modifying CTEs of one statement whose main part is ``main`` (or the
    last write); placeholders are renumbered so that each part keeps its own arguments."""
    parts = [*writes, main] if main is not None else list(writes)
    shape = tuple((part.sql, len(part.args)) for part in parts)
    return Write(_composed(shape), tuple(arg for part in parts for arg in part.args))


@lru_cache(maxsize=256)
def _composed(shape: tuple[tuple[str, int], ...]) -> str:
    """The SQL of :func:`one_statement` for parts of these SQL texts and argument counts (a
    command's statement has the same shape every time, so it is composed once)."""
    sql: list[str] = []
    offset = 0
    for text, count in shape:
        sql.append(_renumbered(text, offset=offset))
        offset += count
    if len(sql) == 1:
        return sql[0]
    ctes = ",\n".join(f"w{i} AS ({s})" for i, s in enumerate(sql[:-1]))
    return f"WITH {ctes}\n{sql[-1]}"


def _renumbered(sql: str, *, offset: int) -> str:
    return _PLACEHOLDER.sub(lambda m: f"${int(m.group(1)) + offset}", sql)


_HISTORY = """INSERT INTO event_history (subject, version, event_id, type, time, data)
    SELECT * FROM unnest($1::uuid[], $2::int[], $3::uuid[], $4::text[], $5::timestamptz[],
                         $6::jsonb[])"""
_OUTBOX = INSERT_OUTBOX.format(
    event_ids="$1", topics="$2", keys="$3", types="$4", values="$5", traceparents="$6"
)
# One event (most commands) as plain values: asyncpg encodes six scalars several times faster
# than six one-element arrays.
_ONE_HISTORY = """INSERT INTO event_history (subject, version, event_id, type, time, data)
    VALUES ($1, $2, $3, $4, $5, $6)"""
_ONE_OUTBOX = """INSERT INTO outbox (event_id, topic, key, event_type, value, traceparent)
    VALUES ($1, $2, $3, $4, $5, $6)"""


def event_writes(settings: ServiceSettings, events: Sequence[CloudEvent]) -> list[Write]:
    """The history rows and the outbox rows of ``events`` (the one way into the outbox)."""
    if not events:
        return []
    c = outbox_columns(settings, events)
    history = (
        [UUID(e.subject) for e in events],
        [e.version for e in events],
        c.event_ids,
        c.types,
        [e.time for e in events],
        [e.data for e in events],
    )
    outbox = (c.event_ids, c.topics, c.keys, c.types, c.values, c.traceparents)
    if len(events) == 1:
        return [
            Write(_ONE_HISTORY, tuple(column[0] for column in history)),
            Write(_ONE_OUTBOX, tuple(column[0] for column in outbox)),
        ]
    return [Write(_HISTORY, history), Write(_OUTBOX, outbox)]


class Staged(Protocol):
    """An aggregate staged by its store: its write is rendered when the unit of work sends its
    writes, from the aggregate's state then, so several changes in one command are one write."""

    def render(self) -> Write | None:
        """The write that brings the row up to date (None when it is)."""

    def sent(self) -> None:
        """The rendered write has been sent: the row is now up to date."""

    def conflict(self, constraint: str) -> Problem | None:
        """The problem a unique ``constraint`` violated by this row means, if it is ours."""


@dataclass
class UnitOfWork:
    conn: Connection
    settings: ServiceSettings
    _staged: dict[tuple[str, UUID], Staged] = field(default_factory=dict)
    _writes: list[Write] = field(default_factory=list)
    _events: list[CloudEvent] = field(default_factory=list)
    _transaction: Transaction | None = None

    # -- reads ---------------------------------------------------------------------------------

    async def fetch(self, sql: str, *args: Any, lock: bool = False) -> list[asyncpg.Record]:
        await self._before_read(lock)
        return await self.conn.fetch(sql, *args)

    async def fetchrow(self, sql: str, *args: Any, lock: bool = False) -> asyncpg.Record | None:
        await self._before_read(lock)
        return await self.conn.fetchrow(sql, *args)

    async def fetchval(self, sql: str, *args: Any, lock: bool = False) -> Any:
        await self._before_read(lock)
        return await self.conn.fetchval(sql, *args)

    async def _before_read(self, lock: bool) -> None:
        """A locking read, or a read after staged writes, needs the transaction; staged writes
        go first so that the read sees them."""
        if lock or self._has_writes():
            await self.begin()
        if self._has_writes():
            await self._send(None)

    async def begin(self) -> None:
        if self._transaction is None:
            self._transaction = self.conn.transaction()
            await self._transaction.start()

    # -- writes --------------------------------------------------------------------------------

    def stage(self, table: str, aggregate_id: UUID, staged: Staged) -> None:
        self._staged.setdefault((table, aggregate_id), staged)

    def staged(self, table: str, aggregate_id: UUID) -> Staged | None:
        return self._staged.get((table, aggregate_id))

    def write(self, sql: str, *args: Any) -> None:
        """Stage one more data-modifying statement (a report row, a projection row, ...)."""
        self._writes.append(Write(sql, args))

    def publish(self, events: list[CloudEvent]) -> None:
        """Stage ``events`` for the history and the outbox, and empty the aggregate's list."""
        self._events.extend(events)
        events.clear()

    def _has_writes(self) -> bool:
        return bool(self._writes or self._events or any(self._rendered()))

    def _rendered(self) -> Iterator[Write]:
        for staged in self._staged.values():
            write = staged.render()
            if write is not None:
                yield write

    async def _send(self, claim: Write | None) -> bool:
        """Send the staged writes (and ``claim``) as one statement; False when the claim found
        its key taken (nothing of the claim was written)."""
        writes = [*self._rendered(), *self._writes, *event_writes(self.settings, self._events)]
        self._writes.clear()
        self._events.clear()
        for staged in self._staged.values():
            staged.sent()
        if not writes and claim is None:
            return True
        statement = one_statement(writes, claim)
        try:
            if claim is None:
                await self.conn.execute(statement.sql, *statement.args)
                return True
            return bool(await self.conn.fetchval(statement.sql, *statement.args))
        except asyncpg.UniqueViolationError as exc:
            raise self._conflict(exc) from exc

    def _conflict(self, exc: asyncpg.UniqueViolationError) -> Exception:
        constraint = exc.constraint_name or ""
        for staged in self._staged.values():
            problem = staged.conflict(constraint)
            if problem is not None:
                return problem
        return exc

    async def commit(self, claim: Write | None = None) -> bool:
        """Send what is staged (with ``claim``) and commit; False, with nothing committed, when
        the claim found its key already taken."""
        if claim is not None:
            await self.begin()  # the writes beside a claim that finds its key taken roll back
        claimed = await self._send(claim)
        if self._transaction is not None:
            if claimed:
                await self._transaction.commit()
            else:
                await self._transaction.rollback()
            self._transaction = None
        return claimed

    async def rollback(self) -> None:
        if self._transaction is not None:
            await self._transaction.rollback()
            self._transaction = None


@asynccontextmanager
async def unit_of_work(pool: Pool, settings: ServiceSettings) -> AsyncIterator[UnitOfWork]:
    """A unit of work on a pooled connection, committed when the block ends without error."""
    async with pool.acquire() as conn:
        uow = UnitOfWork(conn, settings)
        try:
            yield uow
        except BaseException:
            await uow.rollback()
            raise
        await uow.commit()
