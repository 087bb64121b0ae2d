"""Read models built from events. Each handler ignores an event not newer than what it holds."""

from typing import Any

from laborcoop.common.consumer import Handler, Subscription
from laborcoop.common.db import Connection
from laborcoop.contracts import topics
from laborcoop.contracts.brands import (
    BrandRecognised,
    BrandRegistered,
    BrandReinstated,
    BrandRetired,
    BrandSuspended,
    BrandUpdated,
)
from laborcoop.contracts.codes import BrandStatus
from laborcoop.contracts.envelope import CloudEvent
from laborcoop.contracts.events import EventPayload

GROUP = "gateway.projections"


async def on_brand_registered(conn: Connection, event: CloudEvent, payload: EventPayload) -> None:
    assert isinstance(payload, BrandRegistered)
    await conn.execute(
        """INSERT INTO brand_view (brand_id, name, province, category, status, version, updated_at)
           VALUES ($1, $2, $3, $4, 'registered', $5, $6)
           ON CONFLICT (brand_id) DO NOTHING""",
        payload.brand_id,
        payload.name,
        payload.province,
        payload.category,
        event.version,
        event.time,
    )


async def _advance(conn: Connection, event: CloudEvent, **columns: Any) -> None:
    """Set ``columns`` of the event's brand if the event is newer than the row."""
    names = list(columns)
    assignments = ", ".join(f"{name} = ${i}" for i, name in enumerate(names, start=4))
    await conn.execute(
        f"""UPDATE brand_view SET version = $2, updated_at = $3, {assignments}
            WHERE brand_id = $1 AND version < $2""",
        event.subject,
        event.version,
        event.time,
        *columns.values(),
    )


async def on_brand_changed(conn: Connection, event: CloudEvent, payload: EventPayload) -> None:
    match payload:
        case BrandUpdated():
            await _advance(conn, event, name=payload.name, category=payload.category)
        case BrandRecognised():
            await _advance(conn, event, status=BrandStatus.RECOGNISED, level=payload.level)
        case BrandSuspended():
            await _advance(conn, event, status=BrandStatus.SUSPENDED)
        case BrandReinstated():
            await _advance(conn, event, status=payload.status, level=payload.level)
        case BrandRetired():
            await _advance(conn, event, status=BrandStatus.RETIRED)


_CHANGES: list[type[EventPayload]] = [
    BrandUpdated,
    BrandRecognised,
    BrandSuspended,
    BrandReinstated,
    BrandRetired,
]
_HANDLERS: dict[str, Handler] = {BrandRegistered.event_type: on_brand_registered}
_HANDLERS.update({kind.event_type: on_brand_changed for kind in _CHANGES})

SUBSCRIPTION = Subscription(group=GROUP, topics=[topics.BRANDS], handlers=_HANDLERS)
