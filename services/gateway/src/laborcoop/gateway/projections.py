"""Read models built from events. Each handler ignores an event not newer than what it holds."""

from laborcoop.common.consumer import Subscription
from laborcoop.common.db import Connection
from laborcoop.contracts import topics
from laborcoop.contracts.brands import BrandRegistered
from laborcoop.contracts.envelope import CloudEvent
from laborcoop.contracts.events import EventPayload

GROUP = "gateway.projections"


async def on_brand_registered(conn: Connection, event: CloudEvent, payload: EventPayload) -> None:
    assert isinstance(payload, BrandRegistered)
    await conn.execute(
        """INSERT INTO brand_view (brand_id, name, province, category, status, version, updated_at)
           VALUES ($1, $2, $3, $4, 'registered', $5, $6)
           ON CONFLICT (brand_id) DO UPDATE SET
               name = excluded.name, province = excluded.province, category = excluded.category,
               status = excluded.status, version = excluded.version,
               updated_at = excluded.updated_at
           WHERE brand_view.version < excluded.version""",
        payload.brand_id,
        payload.name,
        payload.province,
        payload.category,
        event.version,
        event.time,
    )


SUBSCRIPTION = Subscription(
    group=GROUP,
    topics=[topics.BRANDS],
    handlers={BrandRegistered.event_type: on_brand_registered},
)
