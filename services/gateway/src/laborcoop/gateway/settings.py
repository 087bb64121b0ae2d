"""The gateway's settings: the shared ones plus where it forwards commands."""

from pydantic import Field

from laborcoop.common.settings import ServiceSettings


class GatewaySettings(ServiceSettings):
    service_name: str = "gateway"
    registry_url: str = Field(
        default="http://127.0.0.1:8101",
        description="Base URL the gateway forwards `/v1/brands…` requests to (all but the "
        "brand list, which it answers from its projection).",
    )
    agreements_url: str = Field(
        default="http://127.0.0.1:8102",
        description="Base URL the gateway forwards `/v1/agreements…` requests to.",
    )
    placements_url: str = Field(
        default="http://127.0.0.1:8103",
        description="Base URL the gateway forwards `/v1/workers…`, `/v1/demands…` and "
        "`/v1/placements…` requests to.",
    )
    upstream_timeout_s: float = Field(
        default=10.0,
        gt=0,
        description="Timeout of a forwarded request. A request that could not be sent "
        "(connection refused, connect timeout) is answered 503; one sent but not answered in "
        "time is 504 (outcome unknown: a retry with the same Idempotency-Key is safe); both "
        "with `Retry-After`.",
    )
