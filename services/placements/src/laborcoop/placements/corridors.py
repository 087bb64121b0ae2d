"""PLACEHOLDER by the lead until the matching helper writes the real module: the corridors the
active agreements cover, read from this service's copy of agreements."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from uuid import UUID

from laborcoop.common.db import Reader


@dataclass(frozen=True)
class Cover:
    agreement_id: UUID
    targets: Mapping[str, int] = field(default_factory=dict)

    def target(self, period: str) -> int | None:
        return self.targets.get(period)


async def covering_agreements(conn: Reader, origin: str, destination: str) -> list[Cover]:
    return []
