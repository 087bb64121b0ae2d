"""The gateway's use cases, as its ``ServiceSpec.build`` makes them: the upstream clients that
forwarding uses, identity (clients, tokens, keys), and the event log's wake-up."""

from dataclasses import dataclass

from laborcoop.gateway.events.wakeup import LogWakeup
from laborcoop.gateway.forwarding import Upstreams
from laborcoop.gateway.identity.service import Identity


@dataclass(frozen=True)
class GatewayUses:
    upstreams: Upstreams
    identity: Identity
    log_wakeup: LogWakeup
    """Wakes the event stream and the webhook workers of this process when the log grows."""
