"""The gateway's use cases, as its ``ServiceSpec.build`` makes them: the upstream clients that
forwarding uses, and identity (clients, tokens, keys)."""

from dataclasses import dataclass

from laborcoop.gateway.forwarding import Upstreams
from laborcoop.gateway.identity.service import Identity


@dataclass(frozen=True)
class GatewayUses:
    upstreams: Upstreams
    identity: Identity
