"""Events of the gateway's webhook subscriptions (topic ``laborcoop.gateway.subscriptions``).

``subject`` is the subscription id, ``sequence`` its version. ``provinces`` names the subscriber's
province (none for a ministry subscription), so the subscriber hears of its own subscription on
the event stream and on its other subscriptions.
"""

from datetime import datetime
from typing import Literal
from uuid import UUID

from laborcoop.contracts import topics
from laborcoop.contracts.events import EventPayload, event_type

DisabledReason = Literal["failing", "gone"]
"""``failing``: every attempt failed for longer than the gateway allows; ``gone``: the receiver
answered 410 Gone."""


@event_type("cn.laborcoop.gateway.subscription.disabled.v1", topic=topics.SUBSCRIPTIONS)
class SubscriptionDisabled(EventPayload):
    """The gateway stopped delivering to a subscription; its owner may resume it."""

    subscription_id: UUID
    client_id: str
    reason: DisabledReason
    failing_since: datetime | None = None
    last_status: int | None = None
