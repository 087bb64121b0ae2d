"""The matching API models: what a match shows, never personal data.

A worker appears as it does in events: an opaque id, its origin province and home county, its
occupations, brand, certificates (kind, name, level) and expected wage range. No name, ID
number, phone number, sex, birth year or poverty-alleviation flag.
"""

from uuid import UUID

from pydantic import Field

from laborcoop.common.inputs import ApiModel
from laborcoop.contracts.codes import CertificateKind
from laborcoop.placements.matching.ranking import Candidate, Opening, Ranked, Skill
from laborcoop.placements.matching.service import DemandMatches, WorkerMatches

SCORE = "0–100: occupation 40, preferred brand 20, certificates 15, wage 15, distance 10"
REASONS = (
    "Why, one short code per factor: `occupation: exact`, `brand: preferred`, "
    "`certificate: level 3 vocational_skill`, `wage: within range`, `distance: 850 km` "
    "(province-level: between provincial capitals)"
)


class SkillOut(ApiModel):
    kind: CertificateKind
    name: str
    level: int | None = Field(description="1 (highest, 高级技师) to 5 (初级工), if it has levels")

    @classmethod
    def of(cls, skill: Skill) -> "SkillOut":
        return cls(kind=CertificateKind(skill.kind), name=skill.name, level=skill.level)


class WorkerMatchOut(ApiModel):
    """A worker proposed for a demand, without personal data."""

    worker_id: UUID
    origin: str
    county: str
    occupations: list[str]
    brand_id: UUID | None
    certificates: list[SkillOut]
    wage_min: int | None
    wage_max: int | None
    score: float = Field(description=SCORE)
    reasons: list[str] = Field(description=REASONS)

    @classmethod
    def of(cls, ranked: Ranked[Candidate]) -> "WorkerMatchOut":
        worker = ranked.item
        return cls(
            worker_id=worker.worker_id,
            origin=worker.origin,
            county=worker.county,
            occupations=list(worker.occupations),
            brand_id=worker.brand_id,
            certificates=[SkillOut.of(s) for s in worker.certificates],
            wage_min=worker.wage_min,
            wage_max=worker.wage_max,
            score=ranked.score,
            reasons=list(ranked.reasons),
        )


class WorkerMatchesOut(ApiModel):
    demand_id: UUID
    province: str
    occupation: str
    origins: list[str] = Field(
        description="The provinces active agreements cover towards the demand's province: the "
        "only origins searched (none: no agreement covers it, no match)"
    )
    considered: int = Field(description="How many candidates the ranking saw")
    matches: list[WorkerMatchOut] = Field(description="Best first")

    @classmethod
    def of(cls, found: WorkerMatches) -> "WorkerMatchesOut":
        return cls(
            demand_id=found.demand.demand_id,
            province=found.demand.province,
            occupation=found.demand.occupation,
            origins=found.origins,
            considered=found.considered,
            matches=[WorkerMatchOut.of(m) for m in found.matches],
        )


class DemandMatchOut(ApiModel):
    """An open demand proposed for a worker."""

    demand_id: UUID
    province: str
    city_code: str
    employer_name: str
    occupation: str
    headcount: int
    accepted: int
    wage_min: int
    wage_max: int
    score: float = Field(description=SCORE)
    reasons: list[str] = Field(description=REASONS)

    @classmethod
    def of(cls, ranked: Ranked[Opening]) -> "DemandMatchOut":
        demand = ranked.item
        return cls(
            demand_id=demand.demand_id,
            province=demand.province,
            city_code=demand.city_code,
            employer_name=demand.employer_name,
            occupation=demand.occupation,
            headcount=demand.headcount,
            accepted=demand.accepted,
            wage_min=demand.wage_min,
            wage_max=demand.wage_max,
            score=ranked.score,
            reasons=list(ranked.reasons),
        )


class DemandMatchesOut(ApiModel):
    worker_id: UUID
    origin: str
    destinations: list[str] = Field(
        description="The provinces active agreements cover from the worker's origin: the only "
        "destinations searched"
    )
    considered: int = Field(description="How many candidates the ranking saw")
    matches: list[DemandMatchOut] = Field(description="Best first")

    @classmethod
    def of(cls, found: DemandMatches) -> "DemandMatchesOut":
        return cls(
            worker_id=found.worker.worker_id,
            origin=found.worker.origin,
            destinations=found.destinations,
            considered=found.considered,
            matches=[DemandMatchOut.of(m) for m in found.matches],
        )
