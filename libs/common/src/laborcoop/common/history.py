"""The history of an aggregate: its events, kept in ``event_history`` by ``aggregates.publish``."""

from datetime import datetime
from typing import Any
from uuid import UUID

from laborcoop.common.api import ApiModel
from laborcoop.common.db import Connection
from laborcoop.common.pagination import Page, cursor_value, page_of


class HistoryEntry(ApiModel):
    event_id: UUID
    type: str
    version: int
    time: datetime
    data: dict[str, Any]


async def page(
    conn: Connection, subject: UUID, *, cursor: str | None, limit: int
) -> Page[HistoryEntry]:
    """One page of the subject's events, oldest first."""
    after = cursor_value(cursor, "version") or 0
    rows = await conn.fetch(
        """SELECT event_id, type, version, time, data FROM event_history
           WHERE subject = $1 AND version > $2 ORDER BY version LIMIT $3""",
        subject,
        after,
        limit + 1,
    )
    entries = [HistoryEntry.model_validate(dict(r)) for r in rows]
    return page_of(entries, limit, lambda e: {"version": e.version})
