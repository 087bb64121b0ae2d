"""The history of an aggregate: its events, kept in ``event_history`` with its outbox rows."""

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from laborcoop.common.api import ApiModel
from laborcoop.common.db import Connection
from laborcoop.common.pagination import Page, cursor_value, page_of
from laborcoop.contracts.envelope import CloudEvent


class HistoryEntry(ApiModel):
    event_id: UUID
    type: str
    version: int
    time: datetime
    data: dict[str, Any]


async def record(conn: Connection, events: Sequence[CloudEvent]) -> None:
    """Keep ``events`` in the caller's transaction (call beside ``outbox.add_events``)."""
    if not events:
        return
    await conn.execute(
        """INSERT INTO event_history (subject, version, event_id, type, time, data)
           SELECT * FROM unnest($1::uuid[], $2::int[], $3::uuid[], $4::text[],
                                $5::timestamptz[], $6::jsonb[])""",
        [UUID(e.subject) for e in events],
        [e.version for e in events],
        [UUID(e.id) for e in events],
        [e.type for e in events],
        [e.time for e in events],
        [e.data for e in events],
    )


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
