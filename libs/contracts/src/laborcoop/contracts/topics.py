"""Kafka topic names of the event contract (docs/design.md §4)."""

from typing import Final

BRANDS: Final = "laborcoop.registry.brands"
AGREEMENTS: Final = "laborcoop.agreements.agreements"
DEMANDS: Final = "laborcoop.placements.demands"
WORKERS: Final = "laborcoop.placements.workers"
PLACEMENTS: Final = "laborcoop.placements.placements"
SUBSCRIPTIONS: Final = "laborcoop.gateway.subscriptions"

ALL: Final = (BRANDS, AGREEMENTS, DEMANDS, WORKERS, PLACEMENTS, SUBSCRIPTIONS)


def dead_letter(consumer_group: str) -> str:
    """The dead-letter topic of one consumer group."""
    return f"laborcoop.dlq.{consumer_group}"
