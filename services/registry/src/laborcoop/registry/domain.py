"""The labour brand aggregate: its state, its rules, and the events each change records."""

from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

from laborcoop.contracts.brands import BrandRegistered
from laborcoop.contracts.envelope import CloudEvent
from laborcoop.contracts.events import EventPayload, new_event
from laborcoop.contracts.ids import uuid7


@dataclass
class Brand:
    id: UUID
    name: str
    province: str
    category: str
    version: int
    created_at: datetime
    updated_at: datetime
    pending_events: list[CloudEvent] = field(default_factory=list, repr=False, compare=False)

    @classmethod
    def register(cls, *, name: str, province: str, category: str, now: datetime) -> "Brand":
        brand = cls(
            id=uuid7(),
            name=name,
            province=province,
            category=category,
            version=0,
            created_at=now,
            updated_at=now,
        )
        brand._record(
            BrandRegistered(brand_id=brand.id, name=name, province=province, category=category),
            now,
        )
        return brand

    def _record(self, payload: EventPayload, now: datetime) -> None:
        self.version += 1
        self.updated_at = now
        self.pending_events.append(
            new_event(
                payload,
                subject=str(self.id),
                version=self.version,
                provinces=[self.province],
                time=now,
            )
        )
