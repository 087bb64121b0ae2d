"""What every aggregate does with its events: record them as it changes, then save them with it.

An aggregate counts its changes in ``version``; each change records one CloudEvent whose
``sequence`` is the new version. The service layer calls :func:`publish` in the transaction
that saves the aggregate: the events go to the history and the outbox, and are forgotten.
"""

from collections.abc import Iterable
from datetime import datetime
from typing import Protocol
from uuid import UUID

from laborcoop.common import history
from laborcoop.common.db import Connection
from laborcoop.common.outbox import add_events
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


async def publish(conn: Connection, settings: ServiceSettings, aggregate: RecordsEvents) -> None:
    """Keep the recorded events in the history and the outbox, in the caller's transaction."""
    await history.record(conn, aggregate.pending_events)
    await add_events(conn, settings, aggregate.pending_events)
    aggregate.pending_events.clear()
