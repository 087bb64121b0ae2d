from pydantic import Field

from laborcoop.common.settings import ServiceSettings


class GatewaySettings(ServiceSettings):
    service_name: str = "gateway"
    registry_url: str = Field(
        default="http://127.0.0.1:8101", description="the registry's base URL"
    )
    agreements_url: str = "http://127.0.0.1:8102"
    placements_url: str = "http://127.0.0.1:8103"
    upstream_timeout_s: float = Field(default=10.0, gt=0)
