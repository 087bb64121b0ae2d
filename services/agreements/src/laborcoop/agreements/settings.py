from pydantic import Field

from laborcoop.common.settings import ServiceSettings


class AgreementsSettings(ServiceSettings):
    service_name: str = "agreements"
    timezone: str = Field(
        default="Asia/Shanghai", description="where start and end dates are calendar days"
    )
    scheduler_interval_s: float = Field(
        default=30.0, gt=0, description="how often activation and expiry are checked"
    )
