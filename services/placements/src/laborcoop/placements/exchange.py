"""The labour exchange's use cases, one object per aggregate, built once per process."""

from dataclasses import dataclass

from laborcoop.placements.demands.service import Demands
from laborcoop.placements.matching.service import Matching
from laborcoop.placements.placements.service import Placements
from laborcoop.placements.workers.service import Workers


@dataclass(frozen=True)
class LabourExchange:
    """What the service's ``build`` makes; each aggregate's routes use their part of it."""

    workers: Workers
    demands: Demands
    placements: Placements
    matching: Matching
