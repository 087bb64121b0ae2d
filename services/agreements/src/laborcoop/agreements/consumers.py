"""The agreements service's copy of the registry's brands, kept from brand events.

Only what agreements need: a brand's existence, name, province and whether it is retired.
Events not newer than the copy are ignored; the copy lags the registry by the relay and
consumer delay (normally well under a second, longer while Kafka is unavailable).
"""

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


async def _set(conn: Connection, event: CloudEvent, column: str, value: str) -> None:
    await conn.execute(
        f"""UPDATE brand_copy SET {column} = $3, version = $2, updated_at = $4
            WHERE brand_id = $1 AND version < $2""",
        event.subject,
        event.version,
        value,
        event.time,
    )


async def on_changed(conn: Connection, event: CloudEvent, payload: EventPayload) -> None:
    match payload:
        case BrandUpdated():
            await _set(conn, event, "name", payload.name)
        case BrandRecognised():
            await _set(conn, event, "status", BrandStatus.RECOGNISED)
        case BrandSuspended():
            await _set(conn, event, "status", BrandStatus.SUSPENDED)
        case BrandReinstated():
            await _set(conn, event, "status", payload.status)
        case BrandRetired():
            await _set(conn, event, "status", BrandStatus.RETIRED)


_CHANGES: list[type[EventPayload]] = [
    BrandUpdated,
    BrandRecognised,
    BrandSuspended,
    BrandReinstated,
    BrandRetired,
]
_HANDLERS: dict[str, Handler] = {BrandRegistered.event_type: on_registered}
_HANDLERS.update({kind.event_type: on_changed for kind in _CHANGES})

BRANDS = Subscription(group=GROUP, topics=[topics.BRANDS], handlers=_HANDLERS)
