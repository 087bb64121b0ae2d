"""Read models built from events. Each handler ignores an event not newer than what it holds.

A view's ``version`` is its aggregate's version (the brand's ``ETag``), so every event of the
brands topic advances it, including those that change no column of the view (indicator reports,
and any type added to the topic later): otherwise a client using the listed version as
``If-Match`` would get a 412.
"""

from typing import Any

from laborcoop.common.consumer import Handler, Subscription
from laborcoop.common.db import Connection
from laborcoop.contracts import topics
from laborcoop.contracts.brands import (
    BrandRecognised,
    BrandRegistered,
    BrandReinstated,
    BrandUpdated,
    status_after,
)
from laborcoop.contracts.envelope import CloudEvent
from laborcoop.contracts.events import EventPayload, all_specs

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
    """Any later event of the brand: the version moves on, with the columns the event sets."""
    columns = {"version": event.version, "updated_at": event.time, **_changes(payload)}
    assignments = ", ".join(f"{name} = ${i}" for i, name in enumerate(columns, start=2))
    await conn.execute(
        f"""UPDATE brand_view SET {assignments}
            WHERE brand_id = $1 AND version < $2""",
        event.subject,
        *columns.values(),
    )


def _handlers() -> dict[str, Handler]:
    """``brand.registered`` inserts the view; every other type of the brands topic updates it."""
    handlers: dict[str, Handler] = {
        spec.type: on_brand_changed for spec in all_specs() if spec.topic == topics.BRANDS
    }
    handlers[BrandRegistered.event_type] = on_brand_registered
    return handlers


SUBSCRIPTION = Subscription(group=GROUP, topics=[topics.BRANDS], handlers=_handlers())
