"""The subscriptions API models. Requests reject unknown fields."""

from datetime import datetime
from typing import Annotated, Final, Literal, Self
from uuid import UUID

from pydantic import AwareDatetime, ConfigDict, Field, StringConstraints, model_validator

from laborcoop.common.inputs import ApiModel
from laborcoop.contracts.openapi import exactly_one_of
from laborcoop.contracts.provinces import ProvinceCode
from laborcoop.gateway.subscriptions.repository import (
    Delivery,
    RecordedAttempt,
    Subscription,
    SubscriptionStatus,
)
from laborcoop.gateway.subscriptions.safety import MAX_URL_LENGTH

EventTypePattern = Annotated[
    str,
    StringConstraints(pattern=r"^([a-z0-9_]+\.)*([a-z0-9_]+|\*)$", max_length=200),
    Field(
        description="An event type (`cn.laborcoop.placements.placement.accepted.v1`), or a "
        "prefix ending in `.*` (`cn.laborcoop.placements.*`)",
        examples=["cn.laborcoop.placements.*"],
    ),
]
TargetUrl = Annotated[
    str,
    Field(
        min_length=8,
        max_length=MAX_URL_LENGTH,
        description="Where deliveries are POSTed: `https`, to a public address",
        examples=["https://hr.hunan.example.cn/laborcoop/webhooks"],
    ),
]
Types = Annotated[list[EventTypePattern], Field(max_length=50)]
Provinces = Annotated[
    list[ProvinceCode],
    Field(
        max_length=34,
        description="Only events whose `provinces` include one of these (within what the "
        "subscriber may receive anyway: its own province's events, or all for the ministry)",
    ),
]


class SubscriptionIn(ApiModel):
    url: TargetUrl
    types: Types = Field(
        default_factory=list, description="Event types to deliver; none: every type"
    )
    provinces: Provinces = Field(default_factory=list)


class SubscriptionPatch(ApiModel):
    url: TargetUrl | None = None
    types: Types | None = None
    provinces: Provinces | None = None


_REPLAY_STARTS: Final = ("since", "after_event_id")


class ReplayIn(ApiModel):
    """Exactly one of ``since`` or ``after_event_id`` (the document says so: ``oneOf``)."""

    model_config = ConfigDict(json_schema_extra=exactly_one_of(*_REPLAY_STARTS))

    since: AwareDatetime | None = Field(
        default=None, description="Re-deliver the events logged at or after this time"
    )
    after_event_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=100,
        description="Re-deliver the events after this one",
    )

    @model_validator(mode="after")
    def _one_start(self) -> Self:
        given = [name for name in _REPLAY_STARTS if name in self.model_fields_set]
        for name in given:
            if getattr(self, name) is None:
                raise ValueError(f"{name} must not be null: leave it out")
        if len(given) != 1:
            raise ValueError("give exactly one of since or after_event_id")
        return self


class SubscriptionOut(ApiModel):
    id: UUID
    url: str
    types: list[str]
    provinces: list[str]
    audience: str = Field(description="Whose events it may receive: a province code, or `all`")
    status: SubscriptionStatus
    disabled_reason: str | None = None
    failing_since: datetime | None = None
    previous_secret_expires_at: datetime | None = Field(
        default=None, description="Until then the previous secret also signs"
    )
    version: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, s: Subscription) -> "SubscriptionOut":
        return cls(
            id=s.id,
            url=s.url,
            types=list(s.types),
            provinces=list(s.provinces),
            audience="all" if s.everything else (s.province or ""),
            status=s.status,  # type: ignore[arg-type]
            disabled_reason=s.disabled_reason,
            failing_since=s.failing_since,
            previous_secret_expires_at=s.previous_secret_until,
            version=s.version,
            created_at=s.created_at,
            updated_at=s.updated_at,
        )


class SubscriptionWithSecret(SubscriptionOut):
    secret: str | None = Field(
        description="The signing secret (`whsec_…`), shown only in this answer (null in the "
        "replay of an Idempotency-Key: rotate the secret if it was lost)"
    )


class DeliveryOut(ApiModel):
    id: int
    event_id: str
    type: str | None = Field(description="The event's type (null once pruned from the log)")
    subject: str
    replay: bool
    state: Literal["pending", "delivered", "failed"]
    attempts: int
    next_attempt_at: datetime | None
    last_attempt_at: datetime | None
    last_status: int | None
    last_latency_ms: int | None
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None

    @classmethod
    def of(cls, d: Delivery) -> "DeliveryOut":
        return cls(**{name: getattr(d, name) for name in d.__slots__})


class AttemptOut(ApiModel):
    attempt: int = Field(description="1 for the first attempt of the delivery")
    at: datetime = Field(description="When the attempt's outcome was recorded")
    status: int | None = Field(description="The receiver's status code (null: no answer)")
    latency_ms: int
    error: str | None = Field(
        description="Why it failed: the start of the receiver's answer, a timeout, a refused "
        "connection or address"
    )

    @classmethod
    def of(cls, a: RecordedAttempt) -> "AttemptOut":
        return cls(**{name: getattr(a, name) for name in a.__slots__})


class PingOut(ApiModel):
    event_id: str
    delivered: bool
    status: int | None
    latency_ms: int
    error: str | None


class ReplayOut(ApiModel):
    deliveries: int = Field(description="How many deliveries the replay added")
