"""Bulk import of workers: NDJSON, one :class:`~laborcoop.placements.workers.schemas.WorkerCreate`
a line, read as a stream, registered in batches by their origin province.

What a line goes through is what ``POST /v1/workers`` does with its body, in the same order:
:func:`~laborcoop.common.inputs.decode_json` (size, depth, duplicate keys), ``WorkerCreate``,
the brand rule (:meth:`Workers._check_brand <laborcoop.placements.workers.service.Workers>`, once
per distinct brand of the import), then :meth:`Worker.register` with the person sealed
(:func:`~laborcoop.placements.workers.service.seal_person`, blind index included). A line that
fails is *rejected*: the report names its line number, the JSON field (``resident_id``,
``occupations.0``; none for a line refused as a whole) and the reason, never the value.

Good lines are stored ``import_batch_size`` at a time, each batch one transaction: COPY into a
temporary table, ``INSERT … SELECT … ON CONFLICT (id_index) DO NOTHING RETURNING id``, and the
``worker.registered`` events of the rows inserted (and of no other) into ``event_history`` and
the outbox by :func:`~laborcoop.common.unit_of_work.event_writes`, as a unit of work writes them.
A person already registered — before, by another import, or earlier in the same file (batches
are written one after the other, so an earlier batch is committed when a later one inserts) —
is a *duplicate*: nothing is written for it, so a re-run of a file stores nothing twice and
publishes nothing twice.

Memory holds one chunk of the body, one line being assembled (at most :data:`MAX_LINE_BYTES`;
a longer line is rejected and skipped without being kept) and two batches: while one batch is
written, the next is validated and sealed in a worker thread, so PostgreSQL and Python work at
the same time and the event loop keeps serving other requests.
"""

import asyncio
import json
from collections.abc import AsyncIterable, AsyncIterator, Callable, Sequence
from contextlib import suppress
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, Final
from uuid import UUID

from pydantic import ValidationError

from laborcoop.common.db import Connection, Pool
from laborcoop.common.inputs import BODY, decode_json
from laborcoop.common.principal import Principal
from laborcoop.common.problems import FieldError, InvalidInput, PayloadTooLarge
from laborcoop.common.unit_of_work import event_writes, one_statement
from laborcoop.contracts.envelope import CloudEvent
from laborcoop.contracts.ids import uuid7
from laborcoop.placements.protection import Keyring, key_id_of
from laborcoop.placements.settings import PlacementsSettings
from laborcoop.placements.workers.domain import Worker, identity_facts, registering_province
from laborcoop.placements.workers.repository import WORKERS
from laborcoop.placements.workers.schemas import WorkerCreate
from laborcoop.placements.workers.service import Workers, seal_person

NDJSON: Final = "application/x-ndjson"
"""The media type of an import: one JSON object a line (https://github.com/ndjson/ndjson-spec)."""
MAX_LINE_BYTES: Final = 64 * 1024
"""The longest line read: four times the longest valid record (twenty certificates with the
longest names, every character escaped)."""
LISTED_REJECTIONS: Final = 1000
"""How many rejected lines a report lists (it counts them all)."""

_STAGING: Final = "worker_import"
_JSON_COLUMNS: Final = frozenset({"certificates", "consents"})
"""The jsonb columns: staged as text (a binary COPY has no encoder for the pool's jsonb codec)."""
# The staging table: one per connection, kept by it; a batch's rows go when its transaction does.
_CREATE_STAGING: Final = (
    f"CREATE TEMPORARY TABLE IF NOT EXISTS {_STAGING} ON COMMIT DELETE ROWS AS SELECT "
    + ", ".join(f"{c}::text AS {c}" if c in _JSON_COLUMNS else c for c in WORKERS.columns)
    + " FROM workers WITH NO DATA"
)
# In blind-index order: two imports of the same people wait for each other in one order, never
# in a cycle (no deadlock).
_INSERT: Final = (
    f"INSERT INTO workers ({', '.join(WORKERS.columns)}) SELECT "
    + ", ".join(f"{c}::jsonb" if c in _JSON_COLUMNS else c for c in WORKERS.columns)
    + f" FROM {_STAGING} ORDER BY id_index ON CONFLICT (id_index) DO NOTHING RETURNING id"
)


_ROW: Final = (
    "id",
    "origin",
    "county",
    "sex",
    "birth_year",
    "name",
    "resident_id",
    "phone",
    "poverty_alleviation",
    "id_index",
    "education",
    "occupations",
    "certificates",
    "brand_id",
    "wage_min",
    "wage_max",
    "availability",
    "consents",
    "version",
    "created_at",
    "updated_at",
    "sealed_with",
)
if WORKERS.columns != _ROW:  # a new attribute of Worker: _row must write it too
    raise RuntimeError(f"importing._row writes {_ROW}, the workers table has {WORKERS.columns}")


def _json(values: Sequence[Any]) -> str:
    if not values:
        return "[]"  # most workers: no certificates, no consents yet
    return json.dumps([v.model_dump(mode="json") for v in values], ensure_ascii=False)


def _row(worker: Worker) -> tuple[Any, ...]:
    """The worker's row, the values :data:`WORKERS` writes (the jsonb columns as JSON text):
    written out here because the generic ``WORKERS.values`` costs a quarter of a line's
    registration (a test compares the two)."""
    sealed, profile = worker.sealed, worker.profile
    return (
        worker.id,
        worker.origin,
        worker.county,
        worker.sex.value,
        worker.birth_year,
        sealed.name,
        sealed.resident_id,
        sealed.phone,
        sealed.poverty_alleviation,
        sealed.id_index,
        profile.education.value,
        list(profile.occupations),
        _json(profile.certificates),
        profile.brand_id,
        profile.wage_min,
        profile.wage_max,
        worker.availability.value,
        _json(worker.consents),
        worker.version,
        worker.created_at,
        worker.updated_at,
        key_id_of(sealed.name),
    )


@dataclass(frozen=True)
class Rejection:
    """A line not imported: its number (from 1, counting every line of the body), the JSON
    field at fault (``None``: the line as a whole) and why. Never the value."""

    line: int
    field: str | None
    reason: str
    code: str


@dataclass
class ImportReport:
    """What an import did: ``lines`` records read (blank lines are skipped), of which
    ``accepted`` were registered, ``duplicates`` were people already registered (before, or
    earlier in the file) and ``rejected`` failed a check. ``rejections`` lists the field errors
    of the rejected lines in line order (a line may have several), the first
    :data:`LISTED_REJECTIONS` of them."""

    lines: int = 0
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    rejections: list[Rejection] = field(default_factory=list)

    def reject(self, rejections: Sequence[Rejection]) -> None:
        """Count the rejected lines of ``rejections`` (one line may have several), listing
        them while the list has room."""
        self.rejected += len({r.line for r in rejections})
        room = LISTED_REJECTIONS - len(self.rejections)
        if room > 0:
            self.rejections.extend(sorted(rejections, key=lambda r: r.line)[:room])

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class TooManyLines(PayloadTooLarge):
    """More records than one import takes. The records up to the limit were imported (each
    batch commits on its own, as it fills): the problem carries their ``report``."""

    def __init__(self, limit: int, report: ImportReport) -> None:
        super().__init__(
            f"more than {limit} lines: the first {limit} were imported (see `report`), nothing "
            "after them; send the rest in another request (lines already imported count as "
            "duplicates there, nothing is stored twice)",
            report=report.as_dict(),
        )


Line = tuple[int, bytes | None]
"""A line's number (from 1) and its bytes without the line end; ``None`` when it was longer
than :data:`MAX_LINE_BYTES` (not kept)."""


class _Lines:
    """Splits a body's chunks into lines, keeping at most one line being assembled."""

    def __init__(self) -> None:
        self.number = 0
        self._pending = b""
        self._too_long = False

    def feed(self, chunk: bytes) -> list[Line]:
        lines: list[Line] = []
        start = 0
        while (end := chunk.find(b"\n", start)) >= 0:
            lines.append(self._end(chunk[start:end]))
            start = end + 1
        rest = chunk[start:]
        if not self._too_long:
            if len(self._pending) + len(rest) > MAX_LINE_BYTES:
                self._pending, self._too_long = b"", True
            else:
                self._pending += rest
        return lines

    def close(self) -> list[Line]:
        """The last line, when the body does not end with a line end."""
        if self._pending or self._too_long:
            return [self._end(b"")]
        return []

    def _end(self, tail: bytes) -> Line:
        self.number += 1
        if self._too_long or len(self._pending) + len(tail) > MAX_LINE_BYTES:
            self._pending, self._too_long = b"", False
            return self.number, None
        line = self._pending + tail if self._pending else tail
        self._pending = b""
        return self.number, line


class _Batches:
    """The body's records (blank lines skipped) in batches of ``size``; reading stops at the
    first record past ``limit`` (``exceeded``), after the batch of those before it."""

    def __init__(self, chunks: AsyncIterable[bytes], size: int, limit: int | None) -> None:
        self._chunks = chunks
        self._size = size
        self._limit = limit
        self.records = 0
        self.exceeded = False

    async def __aiter__(self) -> AsyncIterator[list[Line]]:
        lines = _Lines()
        batch: list[Line] = []
        async for chunk in self._chunks:
            for line in lines.feed(chunk):
                if not self._take(line, batch):
                    if batch:
                        yield batch
                    return
                if len(batch) >= self._size:
                    yield batch
                    batch = []
        for line in lines.close():
            if not self._take(line, batch):
                break
        if batch:
            yield batch

    def _take(self, line: Line, batch: list[Line]) -> bool:
        """Add ``line`` to ``batch`` unless it is blank; False once past the limit."""
        raw = line[1]
        if raw is not None and (not raw or raw.isspace()):
            return True
        if self._limit is not None and self.records >= self._limit:
            self.exceeded = True
            return False
        self.records += 1
        batch.append(line)
        return True


def _field(name: str) -> str | None:
    return None if name == BODY else name


def _rejections(number: int, errors: Sequence[FieldError]) -> list[Rejection]:
    return [Rejection(number, _field(e.field), e.message, e.code) for e in errors]


def _parse(number: int, raw: bytes | None) -> WorkerCreate | list[Rejection]:
    """One line decoded and validated as ``POST /v1/workers`` decodes and validates its body."""
    if raw is None:
        return [Rejection(number, None, f"longer than {MAX_LINE_BYTES} bytes", "too_long")]
    try:
        document = decode_json(raw, field=BODY)
    except json.JSONDecodeError as exc:
        reason = f"not valid JSON: {exc.msg} (at character {exc.pos})"
        return [Rejection(number, None, reason, "json_invalid")]
    except InvalidInput as problem:
        return _rejections(number, problem.errors)
    try:
        return WorkerCreate.model_validate(document)
    except ValidationError as error:
        return [
            Rejection(number, ".".join(str(p) for p in e["loc"]) or None, e["msg"], e["type"])
            for e in error.errors(include_url=False, include_context=False, include_input=False)
        ]


@dataclass
class _Parsed:
    valid: list[tuple[int, WorkerCreate]] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)


def _parse_batch(batch: list[Line]) -> _Parsed:
    parsed = _Parsed()
    for number, raw in batch:
        outcome = _parse(number, raw)
        if isinstance(outcome, WorkerCreate):
            parsed.valid.append((number, outcome))
        else:
            parsed.rejections.extend(outcome)
    return parsed


@dataclass
class _Prepared:
    """A batch ready to write: the rows of the workers registered, each one's event."""

    rows: list[tuple[Any, ...]] = field(default_factory=list)
    events: dict[UUID, CloudEvent] = field(default_factory=dict)
    rejections: list[Rejection] = field(default_factory=list)


Brands = dict[UUID, InvalidInput | None]
"""Each brand an import named, and why it may not be a worker's brand (``None``: it may)."""


def _register(
    ring: Keyring, principal: Principal, parsed: _Parsed, brands: Brands, now: datetime
) -> _Prepared:
    """The valid lines registered as ``Workers.register`` registers one: brand first, then the
    aggregate's rules with the person sealed."""
    prepared = _Prepared(rejections=parsed.rejections)
    for number, body in parsed.valid:
        problem = brands.get(body.brand_id) if body.brand_id is not None else None
        if problem is not None:
            prepared.rejections.extend(_rejections(number, problem.errors))
            continue
        worker_id = uuid7()
        person = body.person()
        try:
            worker = Worker.register(
                principal,
                worker_id=worker_id,
                facts=identity_facts(person.resident_id),
                sealed=seal_person(ring, worker_id, person),
                profile=body.profile(),
                now=now,
            )
        except InvalidInput as invalid:
            prepared.rejections.extend(_rejections(number, invalid.errors))
            continue
        prepared.rows.append(_row(worker))
        (event,) = worker.pending_events
        prepared.events[worker.id] = event
    return prepared


Progress = Callable[[ImportReport], None]


@dataclass(frozen=True)
class Importer:
    """Imports workers for their origin province (the caller): the API's
    ``POST /v1/workers:import`` and the ``import-workers`` command."""

    workers: Workers
    settings: PlacementsSettings
    pool: Pool

    async def run(
        self,
        chunks: AsyncIterable[bytes],
        principal: Principal,
        *,
        max_lines: int | None = None,
        progress: Progress | None = None,
    ) -> ImportReport:
        """Import the NDJSON ``chunks``; the report, or :class:`TooManyLines` (with the report
        of the first ``max_lines``) when there are more. 403 for anyone but a province."""
        registering_province(principal)
        report = ImportReport()
        batches = _Batches(chunks, self.settings.import_batch_size, max_lines)
        async with self.pool.acquire() as conn:
            await conn.execute(_CREATE_STAGING)
            await self._pipeline(conn, batches, principal, report, progress)
        if batches.exceeded:
            assert max_lines is not None
            raise TooManyLines(max_lines, report)
        return report

    async def _pipeline(
        self,
        conn: Connection,
        batches: _Batches,
        principal: Principal,
        report: ImportReport,
        progress: Progress | None,
    ) -> None:
        """Prepare each batch (in a worker thread) while the one before is written."""
        brands: Brands = {}
        writing: asyncio.Task[None] | None = None
        try:
            async for batch in batches:
                prepared = await self._prepare(batch, principal, brands)
                report.lines += len(batch)
                report.reject(prepared.rejections)
                if writing is not None:
                    await writing
                writing = asyncio.create_task(self._write(conn, prepared, report, progress))
            if writing is not None:
                await writing
        finally:
            if writing is not None and not writing.done():
                writing.cancel()  # the body failed (a client gone): batches written stay
            if writing is not None:
                with suppress(asyncio.CancelledError, Exception):
                    await writing  # its own failure, if any, is not the one reported

    async def _prepare(self, batch: list[Line], principal: Principal, brands: Brands) -> _Prepared:
        parsed = await asyncio.to_thread(_parse_batch, batch)
        await self._check_brands(parsed, principal, brands)
        now = self.workers.clock()
        return await asyncio.to_thread(_register, self.workers.ring, principal, parsed, brands, now)

    async def _check_brands(self, parsed: _Parsed, principal: Principal, brands: Brands) -> None:
        """Check each brand not seen before in this import, once (the rule of
        ``POST /v1/workers``, against this service's copy of the register)."""
        new = {b.brand_id for _, b in parsed.valid if b.brand_id is not None} - brands.keys()
        if not new:
            return
        async with self.pool.acquire() as conn:
            for brand_id in new:
                brands[brand_id] = await self._brand_problem(conn, principal, brand_id)

    async def _brand_problem(
        self, conn: Connection, principal: Principal, brand_id: UUID
    ) -> InvalidInput | None:
        try:
            await self.workers._check_brand(conn, principal, brand_id)
        except InvalidInput as problem:
            return problem
        return None

    async def _write(
        self,
        conn: Connection,
        prepared: _Prepared,
        report: ImportReport,
        progress: Progress | None,
    ) -> None:
        """One batch, one transaction: the rows not already registered, and their events."""
        if prepared.rows:
            async with conn.transaction():
                await conn.copy_records_to_table(
                    _STAGING, records=prepared.rows, columns=WORKERS.columns
                )
                inserted = await conn.fetch(_INSERT)
                events = [prepared.events[row["id"]] for row in inserted]
                if writes := event_writes(self.settings, events):
                    statement = one_statement(writes)
                    await conn.execute(statement.sql, *statement.args)
            report.accepted += len(inserted)
            report.duplicates += len(prepared.rows) - len(inserted)
        if progress is not None:
            progress(report)
