"""Read models built from events. Each handler ignores an event not newer than what it holds."""

from typing import Any

from laborcoop.common.consumer import Handler, Subscription
from laborcoop.common.db import Connection
from laborcoop.contracts import topics
from laborcoop.contracts.brands import (
    BRAND_CHANGES,
    BrandRecognised,
    BrandRegistered,
    BrandReinstated,
    BrandUpdated,
    status_after,
)
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


def _changes(payload: EventPayload) -> dict[str, Any]:
    """The columns of ``brand_view`` that ``payload`` sets."""
    columns: dict[str, Any] = {}
    if isinstance(payload, BrandUpdated):
        columns.update(name=payload.name, category=payload.category)
    if (status := status_after(payload)) is not None:
        columns["status"] = status
    if isinstance(payload, BrandRecognised | BrandReinstated):
        columns["level"] = payload.level
    return columns


async def on_brand_changed(conn: Connection, event: CloudEvent, payload: EventPayload) -> None:
    columns = _changes(payload)
    assignments = ", ".join(f"{name} = ${i}" for i, name in enumerate(columns, start=4))
    await conn.execute(
        f"""UPDATE brand_view SET version = $2, updated_at = $3, {assignments}
            WHERE brand_id = $1 AND version < $2""",
        event.subject,
        event.version,
        event.time,
        *columns.values(),
    )


_HANDLERS: dict[str, Handler] = {BrandRegistered.event_type: on_brand_registered}
_HANDLERS.update({kind.event_type: on_brand_changed for kind in BRAND_CHANGES})

SUBSCRIPTION = Subscription(group=GROUP, topics=[topics.BRANDS], handlers=_HANDLERS)
