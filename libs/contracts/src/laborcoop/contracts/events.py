"""The registry of event types: each type names its frozen payload model and its topic.

A payload class declares its type with :func:`event_type`; producers build envelopes with
:func:`new_event`, consumers look a type up with :func:`spec_for` and read ``data`` with
:func:`decode`. Within a major version payloads change only by adding optional fields.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import ClassVar, TypeVar

from pydantic import BaseModel, ConfigDict

from laborcoop.contracts.envelope import SCHEMA_BASE, CloudEvent, format_sequence
from laborcoop.contracts.ids import uuid7


class EventPayload(BaseModel):
    """Base of every event's ``data``: immutable; unknown fields of newer producers are ignored."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    event_type: ClassVar[str]


PayloadClass = type[EventPayload]


@dataclass(frozen=True, slots=True)
class EventSpec:
    type: str
    topic: str
    payload: PayloadClass

    @property
    def service(self) -> str:
        return self.type.split(".")[2]

    @property
    def schema_uri(self) -> str:
        return f"{SCHEMA_BASE}/{self.type}.json"


_REGISTRY: dict[str, EventSpec] = {}

P = TypeVar("P", bound=EventPayload)


def event_type(type_: str, *, topic: str) -> Callable[[type[P]], type[P]]:
    """Class decorator: register ``type_`` (``cn.laborcoop.<service>.<aggregate>.<event>.vN``)."""

    def register(cls: type[P]) -> type[P]:
        if type_ in _REGISTRY:
            raise ValueError(f"event type {type_} registered twice")
        cls.event_type = type_
        _REGISTRY[type_] = EventSpec(type=type_, topic=topic, payload=cls)
        return cls

    return register


def spec_for(type_: str) -> EventSpec | None:
    return _REGISTRY.get(type_)


def all_specs() -> list[EventSpec]:
    return sorted(_REGISTRY.values(), key=lambda spec: spec.type)


def new_event(
    payload: EventPayload,
    *,
    subject: str,
    version: int,
    provinces: Iterable[str],
    traceparent: str | None = None,
    time: datetime | None = None,
) -> CloudEvent:
    """The envelope of one fact about aggregate ``subject`` at ``version``."""
    spec = _REGISTRY[payload.event_type]
    return CloudEvent(
        id=str(uuid7()),
        source=f"/laborcoop/{spec.service}",
        type=spec.type,
        subject=subject,
        time=time or datetime.now(UTC),
        dataschema=spec.schema_uri,
        sequence=format_sequence(version),
        provinces=",".join(sorted(set(provinces))),
        traceparent=traceparent,
        data=payload.model_dump(mode="json"),
    )


def topic_of(payload: EventPayload) -> str:
    return _REGISTRY[payload.event_type].topic


def decode(event: CloudEvent) -> EventPayload:
    """The typed payload of a known event; raises ``KeyError`` for an unknown type."""
    return _REGISTRY[event.type].payload.model_validate(event.data)
