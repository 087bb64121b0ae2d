"""The agreements service's settings: the shared ones plus its calendar and scheduler."""

from pydantic import Field

from laborcoop.common.settings import ServiceSettings


class AgreementsSettings(ServiceSettings):
    service_name: str = "agreements"
    timezone: str = Field(
        default="Asia/Shanghai",
        description="IANA time zone whose calendar days the start and end dates are: an "
        "agreement becomes active at 00:00 of `effective_from` there and expires after 24:00 "
        "of `effective_to` (ADR 0009). Must be a name the `zoneinfo` module finds (the "
        "system's time-zone database), or `serve` and `seed` fail at start-up.",
    )
    scheduler_interval_s: float = Field(
        default=30.0,
        gt=0,
        description="How often the scheduler looks for agreements to activate or expire. A due "
        "activation or expiry normally happens within this interval after midnight, provided a "
        "`serve` process with workers runs (each pass handles up to 100 agreements).",
    )
