"""What every aggregate does with its events: count its changes and record one event for each.

Pure code (no I/O imports), so that domain modules can use it. An aggregate counts its changes in
``version``; each change records one CloudEvent whose ``sequence`` is the new version. The
aggregate store (:mod:`laborcoop.common.store`) saves the recorded events with the aggregate, in
the same statement, and the aggregate forgets them.
"""

from collections.abc import Iterable
from datetime import datetime
from typing import Protocol
from uuid import UUID

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
