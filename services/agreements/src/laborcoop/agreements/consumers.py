"""The agreements service's copy of the registry's brands, kept from brand events.

Only what agreements need: a brand's existence, name, province and status (retired brands can
no longer be linked). Events not newer than the copy are ignored. The copy lags the registry by
the relay and consumer delay: normally well under a second, longer while Kafka is unavailable.
"""

from laborcoop.common.consumer import Handler, Subscription
from laborcoop.common.db import Connection
from laborcoop.contracts import topics
from laborcoop.contracts.brands import BRAND_CHANGES, BrandRegistered, BrandUpdated, status_after
from laborcoop.contracts.envelope import CloudEvent
from laborcoop.contracts.events import EventPayload

GROUP = "agreements.brands"


async def on_registered(conn: Connection, event: CloudEvent, payload: EventPayload) -> None:
    assert isinstance(payload, BrandRegistered)
    await conn.execute(
        """INSERT INTO brand_copy (brand_id, name, province, status, version, updated_at)
           VALUES ($1, $2, $3, 'registered', $4, $5) ON CONFLICT (brand_id) DO NOTHING""",
        payload.brand_id,
        payload.name,
        payload.province,
        event.version,
        event.time,
    )


async def on_changed(conn: Connection, event: CloudEvent, payload: EventPayload) -> None:
    name = payload.name if isinstance(payload, BrandUpdated) else None
    await conn.execute(
        """UPDATE brand_copy SET name = coalesce($3, name), status = coalesce($4, status),
                                 version = $2, updated_at = $5
           WHERE brand_id = $1 AND version < $2""",
        event.subject,
        event.version,
        name,
        status_after(payload),
        event.time,
    )


_HANDLERS: dict[str, Handler] = {BrandRegistered.event_type: on_registered}
_HANDLERS.update({kind.event_type: on_changed for kind in BRAND_CHANGES})

BRANDS = Subscription(group=GROUP, topics=[topics.BRANDS], handlers=_HANDLERS)
