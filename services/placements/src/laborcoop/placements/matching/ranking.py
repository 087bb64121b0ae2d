"""How well a worker fits a demand: a score out of 100 and the reasons for it. Pure code.

The same assessment ranks the workers for a demand (:func:`rank_candidates`) and the demands
for a worker (:func:`rank_openings`). Five factors, each with its reason:

========================  ======  ==============================================================
factor                    points  reason
========================  ======  ==============================================================
occupation                 40     ``occupation: exact``, the demand's code among the worker's
                           25     ``occupation: minor group d-dd-dd`` (小类)
                           15     ``occupation: group d-dd`` (中类)
                            0     ``occupation: other``
preferred brand            20     ``brand: preferred`` (the worker's brand is one the demand
                                  prefers)
certificates              ≤ 15    each certificate: 6 − its level (level 1, 高级技师: 5; level
                                  5: 1); without a level 3 for a qualification or special
                                  operation permit, 2 for a skill, 1 for training; the best
                                  three named, ``certificate: level 3 vocational_skill``
wage                       15     ``wage: within range`` (the ranges overlap) or ``wage: above
                                  expectations`` (the demand pays more than the worker asks)
                            7.5   ``wage: not stated``
                            0     ``wage: expects 1500 more`` (the worker's minimum is above
                                  what the demand pays)
distance                  ≤ 10    10 at 0 km, down to 0 at 3,000 km: ``distance: 850 km``
                                  (province-level: between the capitals of the worker's home
                                  province and the demand's, :mod:`.geography`)
========================  ======  ==============================================================

Ties keep the order the candidates came in (the repository's coarse order, then id), so a
ranking is stable and repeatable.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Final, Generic, TypeVar
from uuid import UUID

from laborcoop.contracts.codes import CertificateKind
from laborcoop.contracts.provinces import province_of
from laborcoop.placements.matching.geography import distance_km

T = TypeVar("T")

OCCUPATION_EXACT: Final = 40.0
OCCUPATION_MINOR_GROUP: Final = 25.0
OCCUPATION_GROUP: Final = 15.0
PREFERRED_BRAND: Final = 20.0
CERTIFICATES_MAX: Final = 15.0
CERTIFICATES_NAMED: Final = 3
WAGE_FIT: Final = 15.0
DISTANCE_MAX: Final = 10.0
DISTANCE_ZERO_KM: Final = 3000.0

_LEVELS: Final = 5
_WITHOUT_LEVEL: Final[dict[str, float]] = {
    CertificateKind.QUALIFICATION: 3.0,
    CertificateKind.SPECIAL_OPERATION: 3.0,
    CertificateKind.VOCATIONAL_SKILL: 2.0,
    CertificateKind.SPECIAL_SKILL: 2.0,
    CertificateKind.TRAINING: 1.0,
}
_GROUP: Final = 4  # d-dd
_MINOR_GROUP: Final = 7  # d-dd-dd


@dataclass(frozen=True, slots=True)
class Skill:
    """A certificate as ranking sees it."""

    kind: str
    level: int | None = None
    name: str = ""


@dataclass(frozen=True, slots=True)
class Candidate:
    """A worker as matching sees it: no personal data."""

    worker_id: UUID
    origin: str
    county: str
    occupations: tuple[str, ...]
    brand_id: UUID | None = None
    certificates: tuple[Skill, ...] = ()
    wage_min: int | None = None
    wage_max: int | None = None


@dataclass(frozen=True, slots=True)
class Opening:
    """A demand as matching sees it (an employer's offer: no personal data)."""

    demand_id: UUID
    province: str
    city_code: str
    occupation: str
    wage_min: int
    wage_max: int
    preferred_brands: frozenset[UUID] = frozenset()
    employer_name: str = ""
    headcount: int = 1
    accepted: int = 0


@dataclass(frozen=True, slots=True)
class Ranked(Generic[T]):
    item: T
    score: float
    reasons: tuple[str, ...]


Points = tuple[float, tuple[str, ...]]
"""A factor's points and its reasons."""

_EXACT: Final[Points] = (OCCUPATION_EXACT, ("occupation: exact",))
_OTHER: Final[Points] = (0.0, ("occupation: other",))
_PREFERRED: Final[Points] = (PREFERRED_BRAND, ("brand: preferred",))
_NOTHING: Final[Points] = (0.0, ())


def occupation_fit(wanted: str, held: Sequence[str]) -> Points:
    """The closest of the worker's occupations to the demand's."""
    if wanted in held:
        return _EXACT
    best = _OTHER
    for code in held:
        if code[:_MINOR_GROUP] == wanted[:_MINOR_GROUP]:
            return OCCUPATION_MINOR_GROUP, (f"occupation: minor group {wanted[:_MINOR_GROUP]}",)
        if code[:_GROUP] == wanted[:_GROUP]:
            best = (OCCUPATION_GROUP, (f"occupation: group {wanted[:_GROUP]}",))
    return best


def brand_fit(brand_id: UUID | None, preferred: frozenset[UUID]) -> Points:
    if brand_id is not None and brand_id in preferred:
        return _PREFERRED
    return _NOTHING


def _skill_points(skill: Skill) -> float:
    if skill.level is not None and 1 <= skill.level <= _LEVELS:
        return float(_LEVELS + 1 - skill.level)
    return _WITHOUT_LEVEL.get(skill.kind, 1.0)


def _skill_reason(skill: Skill) -> str:
    if skill.level is not None:
        return f"certificate: level {skill.level} {skill.kind}"
    return f"certificate: {skill.kind}"


def certificates_fit(skills: Sequence[Skill]) -> Points:
    if not skills:
        return _NOTHING
    scored = sorted(((_skill_points(s), i) for i, s in enumerate(skills)), key=lambda p: -p[0])
    total = min(CERTIFICATES_MAX, sum(points for points, _ in scored))
    return total, tuple(_skill_reason(skills[i]) for _, i in scored[:CERTIFICATES_NAMED])


def wage_fit(asks: tuple[int | None, int | None], pays: tuple[int, int]) -> Points:
    """The worker's expected range against the demand's (yuan a month)."""
    low, high = asks
    if low is None and high is None:
        return WAGE_FIT / 2, ("wage: not stated",)
    pays_min, pays_max = pays
    if (low or 0) > pays_max:
        return 0.0, (f"wage: expects {(low or 0) - pays_max} more",)
    if high is not None and high < pays_min:
        return WAGE_FIT, ("wage: above expectations",)
    return WAGE_FIT, ("wage: within range",)


def distance_fit(home: str, workplace: str) -> Points:
    return _distance_fit(province_of(home), province_of(workplace))


@lru_cache(maxsize=1024)
def _distance_fit(home: str, workplace: str) -> Points:
    km = distance_km(home, workplace)
    if km is None:
        return 0.0, ("distance: unknown",)
    points = DISTANCE_MAX * max(0.0, 1.0 - km / DISTANCE_ZERO_KM)
    return points, (f"distance: {round(km, -1):.0f} km",)


def assess(opening: Opening, candidate: Candidate) -> tuple[float, tuple[str, ...]]:
    """The score (0–100, one decimal) of ``candidate`` for ``opening``, and its reasons in the
    order of the factors."""
    occupation, said_occupation = occupation_fit(opening.occupation, candidate.occupations)
    brand, said_brand = brand_fit(candidate.brand_id, opening.preferred_brands)
    skills, said_skills = certificates_fit(candidate.certificates)
    wage, said_wage = wage_fit(
        (candidate.wage_min, candidate.wage_max), (opening.wage_min, opening.wage_max)
    )
    distance, said_distance = distance_fit(candidate.county, opening.city_code)
    score = round(occupation + brand + skills + wage + distance, 1)
    return score, (*said_occupation, *said_brand, *said_skills, *said_wage, *said_distance)


def _best(ranked: Iterable[Ranked[T]], limit: int) -> list[Ranked[T]]:
    return sorted(ranked, key=lambda r: -r.score)[:limit]  # stable: ties keep their order


def rank_candidates(
    opening: Opening, candidates: Iterable[Candidate], limit: int
) -> list[Ranked[Candidate]]:
    """The best ``limit`` workers for a demand, best first."""
    return _best((Ranked(c, *assess(opening, c)) for c in candidates), limit)


def rank_openings(
    candidate: Candidate, openings: Iterable[Opening], limit: int
) -> list[Ranked[Opening]]:
    """The best ``limit`` demands for a worker, best first."""
    return _best((Ranked(o, *assess(o, candidate)) for o in openings), limit)
