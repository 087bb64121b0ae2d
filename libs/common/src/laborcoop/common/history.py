"""The history of an aggregate: its events, kept in ``event_history`` by the unit of work
(:func:`laborcoop.common.unit_of_work.event_writes`)."""

from collections.abc import Collection
from datetime import datetime
from typing import Any
from uuid import UUID

from laborcoop.common.db import Connection
from laborcoop.common.inputs import ApiModel
from laborcoop.common.pagination import Page, cursor_version, page_of


class HistoryEntry(ApiModel):
    event_id: UUID
    type: str
    version: int
    time: datetime
    data: dict[str, Any]


async def page(
    conn: Connection,
    subject: UUID,
    *,
    cursor: str | None,
    limit: int,
    types: Collection[str] | None = None,
) -> Page[HistoryEntry]:
    """One page of the subject's events, oldest first; only ``types`` if given (what a caller
    may see of an aggregate's past)."""
    after = cursor_version(cursor)
    rows = await conn.fetch(
        """SELECT event_id, type, version, time, data FROM event_history
           WHERE subject = $1 AND version > $2 AND ($4::text[] IS NULL OR type = ANY($4))
           ORDER BY version LIMIT $3""",
        subject,
        after,
        limit + 1,
        list(types) if types is not None else None,
    )
    entries = [HistoryEntry.model_validate(dict(r)) for r in rows]
    return page_of(entries, limit, lambda e: {"version": e.version})
