"""What every aggregate does with its events: record them as it changes, then save them with it.

An aggregate counts its changes in ``version``; each change records one CloudEvent whose
``sequence`` is the new version. The service layer calls :func:`publish` in the transaction
that saves the aggregate: the events go to ``event_history`` and the outbox in one statement, and
are forgotten by the aggregate.
"""

from collections.abc import Iterable
from datetime import datetime
from typing import Protocol
from uuid import UUID

from laborcoop.common.db import Connection
from laborcoop.common.outbox import INSERT_OUTBOX, outbox_columns
from laborcoop.common.settings import ServiceSettings
from laborcoop.contracts.envelope import CloudEvent
from laborcoop.contracts.events import EventPayload, new_event


class RecordsEvents(Protocol):
    id: UUID
    version: int
    updated_at: datetime
    pending_events: list[CloudEvent]


def record(
    aggregate: RecordsEvents, payload: EventPayload, *, now: datetime, provinces: Iterable[str]
) -> None:
    """Count one change of ``aggregate`` and record its event."""
    aggregate.version += 1
    aggregate.updated_at = now
    aggregate.pending_events.append(
        new_event(
            payload,
            subject=str(aggregate.id),
            version=aggregate.version,
            provinces=provinces,
            time=now,
        )
    )


_PUBLISH = """WITH kept AS (
           INSERT INTO event_history (subject, version, event_id, type, time, data)
           SELECT * FROM unnest($7::uuid[], $8::int[], $1::uuid[], $4::text[],
                                $9::timestamptz[], $10::jsonb[]))
       """ + INSERT_OUTBOX.format(
    event_ids="$1", topics="$2", keys="$3", types="$4", values="$5", traceparents="$6"
)


async def publish(conn: Connection, settings: ServiceSettings, aggregate: RecordsEvents) -> None:
    """Keep the recorded events in the history and the outbox, in the caller's transaction,
    with one statement."""
    events = aggregate.pending_events
    if not events:
        return
    c = outbox_columns(settings, events)
    await conn.execute(
        _PUBLISH,
        c.event_ids,
        c.topics,
        c.keys,
        c.types,
        c.values,
        c.traceparents,
        [UUID(e.subject) for e in events],
        [e.version for e in events],
        [e.time for e in events],
        [e.data for e in events],
    )
    events.clear()
