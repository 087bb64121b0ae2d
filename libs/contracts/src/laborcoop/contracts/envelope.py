"""The CloudEvents 1.0 envelope of every laborcoop event (docs/design.md §4), structured mode."""

from datetime import UTC, datetime
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

CONTENT_TYPE: Final = "application/cloudevents+json"
SEQUENCE_WIDTH: Final = 20
SCHEMA_BASE: Final = "https://laborcoop.cn/schemas/events"


def format_sequence(version: int) -> str:
    """An aggregate version as the lexicographically ordered CloudEvents ``sequence``."""
    return str(version).zfill(SEQUENCE_WIDTH)


class CloudEvent(BaseModel):
    """One event as it travels on Kafka. ``data`` is validated separately against its type's model.

    Unknown attributes are kept (``extra="allow"``) so that consumers accept extensions added later.
    """

    model_config = ConfigDict(frozen=True, extra="allow")

    specversion: Literal["1.0"] = "1.0"
    id: str = Field(min_length=1)
    source: str = Field(min_length=1)
    type: str = Field(min_length=1)
    subject: str = Field(min_length=1)
    time: datetime
    datacontenttype: Literal["application/json"] = "application/json"
    dataschema: str
    sequence: str = Field(pattern=r"^\d{20}$")
    provinces: str = Field(pattern=r"^(\d{6})(,\d{6})*$|^$")
    traceparent: str | None = None
    data: dict[str, Any]

    @field_validator("time")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("time must carry a UTC offset")
        return value.astimezone(UTC)

    @property
    def version(self) -> int:
        return int(self.sequence)

    @property
    def province_codes(self) -> tuple[str, ...]:
        return tuple(self.provinces.split(",")) if self.provinces else ()

    def to_json_bytes(self) -> bytes:
        return self.model_dump_json(exclude_none=True).encode()

    @classmethod
    def from_json_bytes(cls, raw: bytes) -> "CloudEvent":
        return cls.model_validate_json(raw)
