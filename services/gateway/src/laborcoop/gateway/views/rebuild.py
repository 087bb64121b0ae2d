"""``laborcoop-gateway rebuild-views``: every projection rebuilt from the beginning of its topic
into fresh tables, swapped in at once while the old ones keep serving (docs/adr/0014).

1. One rebuild at a time: a session advisory lock (:data:`LOCK_KEY`); a second one is refused.
   The schema ``views_rebuild`` left by an interrupted rebuild is dropped, then made again with
   an empty copy of each table of :data:`TABLES` (columns, defaults, checks, the unique indexes
   ``ON CONFLICT`` needs, with their names; the other indexes are built once the rows are in,
   which is faster than keeping them up row by row) and an ``inbox`` of its own, all
   ``UNLOGGED`` until the rows are in (:func:`_build_indexes`).
2. A consumer without a group reads every partition of every topic of
   :data:`~laborcoop.gateway.views.projections.SUBSCRIPTIONS` from its beginning
   (``read_committed``, as the live consumers) up to its end offsets, and applies the records
   with the live groups' own handlers on a connection whose ``search_path`` puts
   ``views_rebuild`` first: their SQL names tables unqualified, so it writes the new tables.
   The consumer contract is kept per batch of one partition instead of per event: in one
   transaction, the ids enter the rebuild's inbox and only those not already there are applied
   (a record published twice is applied once). The handlers run against a :class:`Recorder`
   and their statements are sent with ``executemany``, grouped so that each aggregate's keep
   their order (:func:`batched_steps`); the next batch is decoded while the database applies
   one. A batch that fails is applied again event by event.
3. The swap, in one transaction: ``LOCK TABLE inbox, <tables> IN EXCLUSIVE MODE`` (reads go on;
   the live consumers wait at their inbox insert, which every live transaction does first, so
   the order of locks is theirs and no deadlock can occur), the records published since are
   applied up to the end offsets read now, the rebuild's inbox rows the live inbox lacks are
   added to it, then the tables are taken with ``ACCESS EXCLUSIVE`` (a short ``lock_timeout``,
   retried, so that a view reading two tables is never a deadlock's victim) and moved: the live
   ones to ``views_previous``, the new ones to ``public``. After the commit the live consumers
   go on from their committed offsets onto the new tables: an event the rebuild applied is in
   the inbox (a duplicate), and ``version`` ignores anything older anyway.

Why the end offsets are enough: a live consumer commits its database transaction before its
offset, so the old tables may hold events past its committed offset, but never past the end of
the log; under the lock it applies nothing more, so the new tables hold at least what the old
ones held.

The old tables stay in ``views_previous`` until the next rebuild drops them (``drop_previous``
drops them in the swap). An event a handler refuses (the live consumer dead-lettered it) is
skipped and counted, never dead-lettered again.
"""

import asyncio
import gc
import sys
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import Any, Final, TextIO, cast

import asyncpg
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError
from pydantic import ValidationError

from laborcoop.common.consumer import Apply, Subscription
from laborcoop.common.db import Connection, connect
from laborcoop.common.kafka import ensure_topics
from laborcoop.common.settings import ServiceSettings
from laborcoop.contracts.envelope import CloudEvent
from laborcoop.gateway.views.projections import SUBSCRIPTIONS

REBUILD_SCHEMA: Final = "views_rebuild"
PREVIOUS_SCHEMA: Final = "views_previous"
LOCK_KEY: Final = 0x6C61_626F_7276_6965
"""The advisory lock of ``rebuild-views`` (``labor``/``vie``): one rebuild per database."""

TABLES: Final = (
    "brand_view",
    "brand_indicator_view",
    "agreement_view",
    "demand_view",
    "worker_view",
    "placement_view",
)
"""Every table the groups of :data:`SUBSCRIPTIONS` write (``view_lag`` is a measure, not a
projection, and stays)."""

FETCH_RECORDS: Final = 5000
PIPELINE: Final = 4
"""Batches prepared ahead of the one being applied."""
STALL_S: Final = 60.0
SWAP_LOCK_TIMEOUT: Final = "100ms"
SWAP_LOCK_ATTEMPTS: Final = 600
CONSUMER_RETRY_BACKOFF_MS: Final = 500
REQUEST_TIMEOUT_MS: Final = 10_000
METADATA_ATTEMPTS: Final = 50


MAINTENANCE_WORK_MEM: Final = "256MB"
"""For the index builds of the new tables (the session's only; PostgreSQL's default: 64MB)."""
GC_THRESHOLD: Final = 50_000
"""Allocations between young collections while rebuilding (Python's default: 700)."""


class RebuildRefused(Exception):
    """Another rebuild holds the lock."""


class RebuildFailed(Exception):
    """The rebuild stopped; the live tables are untouched and the next rebuild starts clean."""


# -- applying a batch ---------------------------------------------------------------------------


class Unbatchable(Exception):
    """A handler asked for more than ``execute``: it runs on the connection itself."""


Statement = tuple[str, tuple[Any, ...]]


class Recorder:
    """Stands in for the connection while a handler runs: it keeps the statements the handler
    executes, to be sent together with those of the batch's other events
    (:func:`batched_steps`). A handler that reads (``fetch``...) raises :class:`Unbatchable`;
    ``execute`` answers no command status (no handler of the views reads it)."""

    def __init__(self) -> None:
        self.statements: list[Statement] = []

    async def execute(self, sql: str, *args: Any) -> str:
        self.statements.append((sql, args))
        return ""

    def __getattr__(self, name: str) -> Any:
        raise Unbatchable(name)


def batched_steps(recorded: Sequence[tuple[str, list[Statement]]]) -> list[dict[str, list[Any]]]:
    """The statements of a partition's events (``(subject, statements)`` in log order), grouped
    into steps to run in order, each step one ``executemany`` per SQL text.

    An event's place among its subject's events in the batch is its layer; its statements go to
    steps ``(layer, position)``. The events of one step are of different subjects, and a
    handler writes only rows of its event's subject (the order Kafka keeps, per key, is the only
    order the live consumer relies on), so a step runs in any order; each subject's statements
    keep theirs."""
    steps: dict[tuple[int, int], dict[str, list[Any]]] = {}
    layers: dict[str, int] = {}
    for subject, statements in recorded:
        layer = layers.get(subject, 0)
        layers[subject] = layer + 1
        for position, (sql, args) in enumerate(statements):
            step = steps.get((layer, position))
            if step is None:
                step = steps[(layer, position)] = {}
            held = step.get(sql)
            if held is None:
                step[sql] = [args]
            else:
                held.append(args)
    return [steps[key] for key in sorted(steps)]


_INBOX = """
INSERT INTO inbox (consumer_group, event_id, event_type)
SELECT $1, i, t FROM unnest($2::text[], $3::text[]) AS x (i, t)
ON CONFLICT DO NOTHING RETURNING event_id
"""


@dataclass
class Tally:
    """What the rebuild did with the records it read."""

    applied: int = 0
    duplicate: int = 0
    skipped_unknown: int = 0
    undecodable: int = 0
    failed: list[str] = field(default_factory=list)
    """``topic/partition@offset: error`` of each event a handler refused."""

    def line(self) -> str:
        return (
            f"applied {self.applied}, duplicate {self.duplicate}, unknown type "
            f"{self.skipped_unknown}, undecodable {self.undecodable}, refused {len(self.failed)}"
        )


@dataclass(frozen=True)
class _Event:
    record: ConsumerRecord[bytes, bytes]
    event: CloudEvent
    apply: Apply


def _decoded(
    subscription: Subscription, records: Sequence[ConsumerRecord[bytes, bytes]], tally: Tally
) -> list[_Event]:
    """The records' events the group handles, each bound to its handler, first copy of an id
    only; as the live consumer, an unknown type is skipped and an undecodable record (which it
    dead-lettered) counted."""
    events: dict[str, _Event] = {}
    for record in records:
        try:
            event = CloudEvent.from_json_bytes(record.value or b"")
            binder = subscription.handlers.get(event.type)
            if binder is None:
                tally.skipped_unknown += 1
                continue
            apply = binder(event)
        except ValidationError:
            tally.undecodable += 1
            continue
        if event.id in events:
            tally.duplicate += 1
        else:
            events[event.id] = _Event(record, event, apply)
    return list(events.values())


async def _record(events: Sequence[_Event]) -> list[tuple[str, list[Statement]]] | None:
    """Each event's statements, recorded; ``None`` if a handler cannot be recorded."""
    recorder = Recorder()
    connection = cast(Connection, recorder)
    recorded = []
    for item in events:
        recorder.statements = []
        try:
            await item.apply(connection)
        except Unbatchable:
            return None
        recorded.append((item.event.subject, recorder.statements))
    return recorded


@dataclass
class Batch:
    """One partition's records decoded, their handlers bound and, if every handler could be
    recorded, their statements: what :func:`apply_prepared` applies."""

    subscription: Subscription
    events: list[_Event]
    recorded: list[tuple[str, list[Statement]]] | None
    """Each event's subject and statements; ``None``: applied one by one."""


async def prepare_batch(
    subscription: Subscription, records: Sequence[ConsumerRecord[bytes, bytes]], tally: Tally
) -> Batch:
    """The Python half of applying a batch (no database): while the database applies one
    batch, the next is prepared."""
    events = _decoded(subscription, records, tally)
    try:
        recorded = await _record(events)
    except Exception:
        recorded = None  # the same handler fails again when applied, on its own
    return Batch(subscription, events, recorded)


async def apply_prepared(conn: Connection, batch: Batch, tally: Tally) -> None:
    """Apply one partition's batch in one transaction (a savepoint inside the swap's): the ids
    enter ``inbox`` and only the new ones are applied, their statements batched.

    A handler that raises, or a statement the database refuses, rolls the batch back; it is then
    applied event by event (:func:`_apply_one_by_one`), so only the refused event is skipped."""
    events, recorded = batch.events, batch.recorded
    if not events:
        return
    if recorded is None:
        await _apply_one_by_one(conn, batch.subscription, events, tally)
        return
    try:
        async with conn.transaction():
            fresh = await _enter_inbox(conn, batch.subscription.group, events)
            if len(fresh) < len(events):
                recorded = [r for r, e in zip(recorded, events, strict=True) if e.event.id in fresh]
            steps = batched_steps(recorded)
            for step in steps:
                for sql, arguments in step.items():
                    if len(arguments) == 1:
                        await conn.execute(sql, *arguments[0])
                    else:
                        await conn.executemany(sql, arguments)
    except asyncpg.PostgresError as error:
        if _infrastructure(error):
            raise
        await _apply_one_by_one(conn, batch.subscription, events, tally)
        return
    tally.applied += len(fresh)
    tally.duplicate += len(events) - len(fresh)


async def apply_batch(
    conn: Connection,
    subscription: Subscription,
    records: Sequence[ConsumerRecord[bytes, bytes]],
    tally: Tally,
) -> None:
    """:func:`prepare_batch` then :func:`apply_prepared`."""
    await apply_prepared(conn, await prepare_batch(subscription, records, tally), tally)


async def _enter_inbox(conn: Connection, group: str, events: Sequence[_Event]) -> set[str]:
    """The ids of ``events`` that were not in ``inbox`` yet (now they are)."""
    rows = await conn.fetch(
        _INBOX, group, [e.event.id for e in events], [e.event.type for e in events]
    )
    return {r["event_id"] for r in rows}


async def _apply_one_by_one(
    conn: Connection, subscription: Subscription, events: Sequence[_Event], tally: Tally
) -> None:
    """The consumer's contract event by event, each in a savepoint: the refused ones skipped."""
    async with conn.transaction():
        for item in events:
            try:
                async with conn.transaction():
                    if not await _enter_inbox(conn, subscription.group, [item]):
                        tally.duplicate += 1
                        continue
                    await item.apply(conn)
            except Exception as error:
                if isinstance(error, asyncpg.PostgresError) and _infrastructure(error):
                    raise
                r = item.record
                tally.failed.append(
                    f"{r.topic}/{r.partition}@{r.offset}: {type(error).__name__}: {error}"[:300]
                )
                continue
            tally.applied += 1


def _infrastructure(error: asyncpg.PostgresError) -> bool:
    """A failure of the database, not of an event (the rebuild stops; the next starts clean)."""
    return isinstance(
        error,
        asyncpg.PostgresConnectionError
        | asyncpg.CannotConnectNowError
        | asyncpg.TooManyConnectionsError
        | asyncpg.DeadlockDetectedError
        | asyncpg.SerializationError
        | asyncpg.QueryCanceledError,
    )


# -- progress -----------------------------------------------------------------------------------


class Progress:
    """Records read against the end offsets, rate and ETA on ``stream``: a bar redrawn in place
    on a terminal, a line every ``every_s`` otherwise (a log)."""

    WIDTH: Final = 30

    def __init__(
        self, stream: TextIO, *, every_s: float = 5.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._stream = stream
        self._tty = stream.isatty()
        self._every_s = 0.2 if self._tty else every_s
        self._clock = clock
        self._started = clock()
        self._shown = float("-inf")
        self.done = 0
        self.total = 0

    def show(self, phase: str, *, final: bool = False) -> None:
        now = self._clock()
        if not final and now - self._shown < self._every_s:
            return
        self._shown = now
        elapsed = max(now - self._started, 1e-9)
        rate = self.done / elapsed
        share = self.done / self.total if self.total else 1.0
        eta = (self.total - self.done) / rate if rate > 0 else 0.0
        filled = int(self.WIDTH * min(share, 1.0))
        text = (
            f"rebuild-views {phase:<9} [{'#' * filled}{'.' * (self.WIDTH - filled)}]"
            f" {share:4.0%} {self.done}/{self.total} records {rate:,.0f}/s"
            f" ETA {int(eta) // 60}:{int(eta) % 60:02d}"
        )
        if self._tty:
            self._stream.write(f"\r{text}" + ("\n" if final else ""))
        else:
            self._stream.write(f"{text}\n")
        self._stream.flush()


# -- the rebuild --------------------------------------------------------------------------------


@dataclass
class Outcome:
    records: int
    seconds: float
    tally: Tally


Hook = Callable[[], Awaitable[None]]


@dataclass
class _Reader:
    """The group-less consumer of every projection topic, and where each partition stands."""

    consumer: AIOKafkaConsumer
    group_of: Mapping[str, Subscription]
    """The subscription applying each (prefixed) topic."""
    starts: dict[TopicPartition, int] = field(default_factory=dict)


async def rebuild_views(
    settings: ServiceSettings,
    *,
    progress: TextIO = sys.stderr,
    drop_previous: bool = False,
    stall_s: float = STALL_S,
    before_swap: Hook | None = None,
) -> Outcome:
    """Rebuild every projection and swap the new tables in (see the module's description).

    ``before_swap`` runs once the new tables have caught up, before the swap (tests publish
    there). Raises :class:`RebuildRefused` if another rebuild runs, :class:`RebuildFailed` if
    Kafka or the database fails on the way (nothing is swapped then)."""
    with _fewer_collections():
        return await _rebuild(settings, progress, drop_previous, stall_s, before_swap)


@contextmanager
def _fewer_collections() -> Iterator[None]:
    """The batches in flight (thousands of events, their payloads and statements) outlive
    several young collections, so they reach the old generation and every full collection walks
    them and everything loaded: with the defaults, the rebuild spent more time collecting than
    applying. What exists now is frozen out of collection and collections are rarer; the
    events are freed by reference counting as each batch is done."""
    threshold = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(GC_THRESHOLD, *threshold[1:])
    try:
        yield
    finally:
        gc.set_threshold(*threshold)
        gc.unfreeze()


async def _rebuild(
    settings: ServiceSettings,
    progress: TextIO,
    drop_previous: bool,
    stall_s: float,
    before_swap: Hook | None,
) -> Outcome:
    started = time.monotonic()
    shown = Progress(progress)
    tally = Tally()
    try:
        conn = await connect(settings.database_url.get_secret_value())
    except (OSError, asyncpg.PostgresError) as error:
        raise RebuildFailed(f"the gateway's database is unreachable: {error}") from error
    try:
        if not await conn.fetchval("SELECT pg_try_advisory_lock($1)", LOCK_KEY):
            raise RebuildRefused("another rebuild-views is running on this database")
        reader = await _open_reader(settings)
        try:
            await _prepare(conn)
            await conn.execute(f"SET search_path = {REBUILD_SCHEMA}, public")
            # a crash loses the last batches of a rebuild that starts over anyway; the swap
            # commits durably (it sets it back)
            await conn.execute("SET synchronous_commit = off")
            await conn.execute(f"SET maintenance_work_mem = '{MAINTENANCE_WORK_MEM}'")
            await _catch_up(conn, reader, shown, tally, stall_s, "reading")
            shown.show("indexing", final=True)
            await _build_indexes(conn)
            await _catch_up(conn, reader, shown, tally, stall_s, "catch-up")
            if before_swap is not None:
                await before_swap()
            await _swap(conn, reader, shown, tally, stall_s, drop_previous=drop_previous)
            shown.show("swapped", final=True)
        finally:
            await reader.consumer.stop()
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
        raise RebuildFailed(f"the database failed: {error!r}") from error
    finally:
        await conn.close()  # releases the advisory lock
    return Outcome(records=shown.done, seconds=time.monotonic() - started, tally=tally)


async def _open_reader(settings: ServiceSettings) -> _Reader:
    group_of = {settings.topic(t): s for s in SUBSCRIPTIONS for t in s.topics}
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap,
        group_id=None,
        enable_auto_commit=False,
        isolation_level="read_committed",
        retry_backoff_ms=CONSUMER_RETRY_BACKOFF_MS,
        request_timeout_ms=REQUEST_TIMEOUT_MS,
    )
    try:
        await ensure_topics(settings, [t for s in SUBSCRIPTIONS for t in s.topics])
        await consumer.start()
        partitions = await _partitions(settings, sorted(group_of))
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        starts = await consumer.beginning_offsets(partitions)
    except (KafkaError, OSError) as error:
        await consumer.stop()
        raise RebuildFailed(
            f"Kafka at {settings.kafka_bootstrap} is unreachable: {error!r}"
        ) from error
    except BaseException:
        await consumer.stop()
        raise
    return _Reader(consumer, group_of, dict(starts))


async def _partitions(settings: ServiceSettings, names: Sequence[str]) -> list[TopicPartition]:
    """Every partition of the topics ``names`` (just created, they may take a moment to show)."""
    admin = AIOKafkaAdminClient(
        bootstrap_servers=settings.kafka_bootstrap, request_timeout_ms=REQUEST_TIMEOUT_MS
    )
    await admin.start()
    try:
        for _ in range(METADATA_ATTEMPTS):
            described = await admin.describe_topics(list(names))
            held = {d["topic"]: d["partitions"] for d in described if d["error_code"] == 0}
            if all(held.get(name) for name in names):
                return [TopicPartition(n, p["partition"]) for n in names for p in held[n]]
            await asyncio.sleep(0.2)
    finally:
        await admin.close()
    raise RebuildFailed(f"Kafka does not show the partitions of {sorted(names)}")


async def _prepare(conn: Connection) -> None:
    """``views_rebuild`` anew, with an empty copy of each table and an inbox; what an
    interrupted rebuild or the previous swap left is dropped."""
    async with conn.transaction():
        await conn.execute(f"DROP SCHEMA IF EXISTS {REBUILD_SCHEMA} CASCADE")
        await conn.execute(f"DROP SCHEMA IF EXISTS {PREVIOUS_SCHEMA} CASCADE")
        await conn.execute(f"CREATE SCHEMA {REBUILD_SCHEMA}")
        for table in (*TABLES, "inbox"):
            await conn.execute(
                f"CREATE UNLOGGED TABLE {REBUILD_SCHEMA}.{table}"
                f" (LIKE public.{table} INCLUDING ALL EXCLUDING INDEXES)"
            )
            for statement in await _index_statements(conn, table, unique=True):
                await conn.execute(statement)


async def _index_statements(conn: Connection, table: str, *, unique: bool) -> list[str]:
    """The statements making ``public.table``'s indexes on its copy, under the same names: with
    ``unique``, the constraints backed by an index and the unique indexes (``ON CONFLICT``
    needs them from the first row); otherwise the others."""
    rows = await conn.fetch(
        """SELECT c.conname, pg_get_constraintdef(c.oid) AS definition, NULL AS indexdef
           FROM pg_constraint AS c
           WHERE c.conrelid = $1::regclass AND c.contype IN ('p', 'u', 'x') AND $2
           UNION ALL
           SELECT NULL, NULL, pg_get_indexdef(i.indexrelid)
           FROM pg_index AS i
           WHERE i.indrelid = $1::regclass AND i.indisunique = $2
             AND NOT EXISTS (SELECT 1 FROM pg_constraint AS k WHERE k.conindid = i.indexrelid)""",
        f"public.{table}",
        unique,
    )
    statements = []
    for row in rows:
        if row["conname"] is not None:
            statements.append(
                f'ALTER TABLE {REBUILD_SCHEMA}.{table} ADD CONSTRAINT "{row["conname"]}"'
                f" {row['definition']}"
            )
            continue
        live = f" ON public.{table} "
        indexdef: str = row["indexdef"]
        if indexdef.count(live) != 1:
            raise RebuildFailed(f"cannot copy the index {indexdef!r}")
        statements.append(indexdef.replace(live, f" ON {REBUILD_SCHEMA}.{table} "))
    return statements


async def _build_indexes(conn: Connection) -> None:
    """The tables made durable (``UNLOGGED`` while they filled: a crash empties them, and the
    rebuild starts over anyway; logged at once, they are written to the WAL in bulk rather
    than row by row), then their other indexes."""
    for table in TABLES:
        await conn.execute(f"ALTER TABLE {REBUILD_SCHEMA}.{table} SET LOGGED")
        for statement in await _index_statements(conn, table, unique=False):
            await conn.execute(statement)


async def _catch_up(
    conn: Connection,
    reader: _Reader,
    shown: Progress,
    tally: Tally,
    stall_s: float,
    phase: str,
) -> None:
    """Apply every record up to the end offsets as they are now: batches are prepared here
    while a task applies the previous ones (Python and PostgreSQL work at the same time)."""
    consumer = reader.consumer
    partitions = list(reader.starts)
    try:
        ends = await consumer.end_offsets(partitions)
    except KafkaError as error:
        raise RebuildFailed(f"Kafka is unreachable: {error!r}") from error
    shown.total = sum(ends[p] - reader.starts[p] for p in partitions)
    behind = {p for p in partitions if await consumer.position(p) < ends[p]}
    prepared: asyncio.Queue[Batch | None] = asyncio.Queue(maxsize=PIPELINE)

    async def applying() -> None:
        while (batch := await prepared.get()) is not None:
            await apply_prepared(conn, batch, tally)

    applier = asyncio.create_task(applying())
    try:
        moved = time.monotonic()
        while behind:
            fetched = await consumer.getmany(*behind, timeout_ms=500, max_records=FETCH_RECORDS)
            for partition, records in fetched.items():
                batch = await prepare_batch(reader.group_of[partition.topic], records, tally)
                await _hand_over(prepared, batch, applier)
            if fetched:
                moved = time.monotonic()
            elif time.monotonic() - moved > stall_s:
                raise RebuildFailed(
                    f"no record from Kafka for {stall_s:.0f} s with {len(behind)} partition(s)"
                    " not caught up: is the broker up?"
                )
            positions = {p: await consumer.position(p) for p in partitions}
            shown.done = sum(min(positions[p], ends[p]) - reader.starts[p] for p in partitions)
            behind = {p for p in behind if positions[p] < ends[p]}
            shown.show(phase)
        await _hand_over(prepared, None, applier)
        await applier
    finally:
        if not applier.done():
            applier.cancel()
            with suppress(asyncio.CancelledError):
                await applier


async def _hand_over(
    prepared: "asyncio.Queue[Batch | None]", batch: Batch | None, applier: "asyncio.Task[None]"
) -> None:
    """Queue ``batch`` for the applier, or raise what stopped it."""
    put = asyncio.ensure_future(prepared.put(batch))
    await asyncio.wait({put, applier}, return_when=asyncio.FIRST_COMPLETED)
    if not put.done():
        put.cancel()
    if applier.done():
        applier.result()  # the applier's error, if it failed


async def _swap(
    conn: Connection,
    reader: _Reader,
    shown: Progress,
    tally: Tally,
    stall_s: float,
    *,
    drop_previous: bool,
) -> None:
    groups = sorted({s.group for s in reader.group_of.values()})
    async with conn.transaction():
        await conn.execute("SET LOCAL synchronous_commit = on")
        live = ", ".join(f"public.{t}" for t in TABLES)
        await conn.execute(f"LOCK TABLE public.inbox, {live} IN EXCLUSIVE MODE")
        await _catch_up(conn, reader, shown, tally, stall_s, "swap")
        await _check_columns(conn)
        await conn.execute(
            f"""INSERT INTO public.inbox (consumer_group, event_id, event_type, processed_at)
                SELECT r.consumer_group, r.event_id, r.event_type, r.processed_at
                FROM {REBUILD_SCHEMA}.inbox AS r
                WHERE r.consumer_group = ANY($1::text[]) AND NOT EXISTS (
                    SELECT 1 FROM public.inbox AS i
                    WHERE i.consumer_group = r.consumer_group AND i.event_id = r.event_id)
                ORDER BY r.consumer_group, r.event_id  -- in the index's order: fewer pages
                ON CONFLICT DO NOTHING""",
            groups,
        )
        await _take_for_reads(conn, live)
        await conn.execute(f"CREATE SCHEMA {PREVIOUS_SCHEMA}")
        for table in TABLES:
            await conn.execute(f"ALTER TABLE public.{table} SET SCHEMA {PREVIOUS_SCHEMA}")
            await conn.execute(f"ALTER TABLE {REBUILD_SCHEMA}.{table} SET SCHEMA public")
        await conn.execute(f"DROP SCHEMA {REBUILD_SCHEMA} CASCADE")
        if drop_previous:
            await conn.execute(f"DROP SCHEMA {PREVIOUS_SCHEMA} CASCADE")
    await conn.execute("SET search_path = public")


async def _take_for_reads(conn: Connection, live: str) -> None:
    """``ACCESS EXCLUSIVE`` on the live tables, waiting at most :data:`SWAP_LOCK_TIMEOUT` at a
    time: a view holding one table and asking for another would otherwise be a deadlock's
    victim (a failed read); given up, the locks are released and the view goes on."""
    for _ in range(SWAP_LOCK_ATTEMPTS):
        try:
            async with conn.transaction():
                await conn.execute(f"SET LOCAL lock_timeout = '{SWAP_LOCK_TIMEOUT}'")
                await conn.execute(f"LOCK TABLE {live} IN ACCESS EXCLUSIVE MODE")
                await conn.execute("SET LOCAL lock_timeout = 0")
            return
        except asyncpg.LockNotAvailableError:
            await asyncio.sleep(0.05)
    raise RebuildFailed("the views' tables were never free of readers long enough to swap")


_COLUMNS = """
SELECT attname, format_type(atttypid, atttypmod) AS type, attnotnull
FROM pg_attribute WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped
ORDER BY attnum
"""


async def _check_columns(conn: Connection) -> None:
    """Refuse to swap tables whose columns differ from the live ones (a migration ran while
    the rebuild did): the new tables would lack what the new code expects."""
    for table in TABLES:
        live = [tuple(r) for r in await conn.fetch(_COLUMNS, f"public.{table}")]
        built = [tuple(r) for r in await conn.fetch(_COLUMNS, f"{REBUILD_SCHEMA}.{table}")]
        if live != built:
            raise RebuildFailed(
                f"{table} changed during the rebuild (a migration?): nothing swapped; run again"
            )
