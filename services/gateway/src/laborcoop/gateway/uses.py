"""The gateway's use cases, as its ``ServiceSpec.build`` makes them: the upstream clients that
forwarding uses, identity (clients, tokens, keys), and the event log's wake-up."""

from dataclasses import dataclass

from laborcoop.gateway.admission import Admission
from laborcoop.gateway.events.wakeup import LogWakeup
from laborcoop.gateway.forwarding import Upstreams
from laborcoop.gateway.identity.service import Identity
from laborcoop.gateway.stream.streams import OpenStreams
from laborcoop.gateway.subscriptions.service import Webhooks


@dataclass(frozen=True)
class GatewayUses:
    upstreams: Upstreams
    identity: Identity
    log_wakeup: LogWakeup
    """Wakes the event stream and the webhook workers of this process when the log grows."""
    admission: Admission
    """The rate limit and the disabled clients every request passes (``admission``)."""
    streams: OpenStreams
    """The event streams open in this process (``GET /v1/events/stream``): the limit per
    client, and their end when the shutdown begins (it is also one of the gateway's workers)."""
    webhooks: Webhooks
    """Webhook subscriptions and their delivery: the secret box, the retry policy, the guarded
    HTTP client (closed at shutdown), shared by the routes and the delivery worker."""
