"""The ranking alone (pure): each factor orders candidates, says why, and ties keep their order."""

from dataclasses import replace
from uuid import UUID

import pytest

from laborcoop.placements.matching.geography import CAPITALS, distance_km
from laborcoop.placements.matching.ranking import (
    Candidate,
    Opening,
    Skill,
    assess,
    rank_candidates,
    rank_openings,
)

BRAND = UUID(int=7)
SHANGHAI_CITY = "310100"
DEMAND = Opening(
    demand_id=UUID(int=1),
    province="310000",
    city_code=SHANGHAI_CITY,
    occupation="6-04-01-01",
    wage_min=6000,
    wage_max=8000,
    preferred_brands=frozenset({BRAND}),
)
BASE = Candidate(
    worker_id=UUID(int=100),
    origin="430000",
    county="430524",
    occupations=("6-04-01-01",),
    wage_min=6500,
    wage_max=7500,
)


def worker(n: int, **changes: object) -> Candidate:
    return replace(BASE, worker_id=UUID(int=100 + n), **changes)  # type: ignore[arg-type]


def order(*candidates: Candidate, opening: Opening = DEMAND) -> list[int]:
    """The candidates' numbers (their id − 100), best first."""
    return [r.item.worker_id.int - 100 for r in rank_candidates(opening, candidates, 10)]


def reasons(candidate: Candidate, opening: Opening = DEMAND) -> tuple[str, ...]:
    return assess(opening, candidate)[1]


def test_exact_occupation_before_minor_group_before_group_before_other() -> None:
    candidates = (
        worker(1, occupations=("2-02-01-01",)),
        worker(2, occupations=("6-04-02-01",)),
        worker(3, occupations=("6-04-01-02",)),
        worker(4, occupations=("4-10-01-01", "6-04-01-01")),
    )
    assert order(*candidates) == [4, 3, 2, 1]
    assert "occupation: exact" in reasons(candidates[3])
    assert "occupation: minor group 6-04-01" in reasons(candidates[2])
    assert "occupation: group 6-04" in reasons(candidates[1])
    assert "occupation: other" in reasons(candidates[0])


def test_a_preferred_brand_comes_first() -> None:
    other = worker(1, brand_id=UUID(int=8))
    preferred = worker(2, brand_id=BRAND)
    assert order(other, preferred) == [2, 1]
    assert "brand: preferred" in reasons(preferred)
    assert not any(r.startswith("brand:") for r in reasons(other))


def test_certificates_count_and_higher_levels_count_more() -> None:
    none = worker(1)
    level_5 = worker(2, certificates=(Skill("vocational_skill", 5, "电工"),))
    level_3 = worker(3, certificates=(Skill("vocational_skill", 3, "电工"),))
    two = worker(
        4,
        certificates=(
            Skill("vocational_skill", 3, "电工"),
            Skill("special_operation", None, "焊工"),
        ),
    )
    assert order(none, level_5, level_3, two) == [4, 3, 2, 1]
    assert "certificate: level 3 vocational_skill" in reasons(level_3)
    assert reasons(two)[1:3] == (
        "certificate: level 3 vocational_skill",
        "certificate: special_operation",
    )


def test_certificates_are_capped_and_only_the_best_three_named() -> None:
    many = worker(1, certificates=tuple(Skill("vocational_skill", 1, f"证{i}") for i in range(6)))
    named = [r for r in reasons(many) if r.startswith("certificate:")]
    assert named == ["certificate: level 1 vocational_skill"] * 3
    capped = assess(DEMAND, many)[0] - assess(DEMAND, worker(2))[0]
    assert capped == 15.0


def test_wage_fit_within_before_not_stated_before_asking_more() -> None:
    asks_more = worker(1, wage_min=9000, wage_max=12000)
    unstated = worker(2, wage_min=None, wage_max=None)
    within = worker(3, wage_min=5000, wage_max=7000)
    below = worker(4, wage_min=3000, wage_max=4000)
    assert order(asks_more, unstated, within, below) == [3, 4, 2, 1]
    assert "wage: within range" in reasons(within)
    assert "wage: above expectations" in reasons(below)
    assert "wage: not stated" in reasons(unstated)
    assert "wage: expects 1000 more" in reasons(asks_more)


def test_nearer_home_ranks_higher_and_the_distance_is_named() -> None:
    xinjiang = worker(1, origin="650000", county="650102")
    anhui = worker(2, origin="340000", county="340102")
    hunan = worker(3)
    assert order(xinjiang, hunan, anhui) == [2, 3, 1]
    [said] = [r for r in reasons(hunan) if r.startswith("distance:")]
    assert said == f"distance: {round(distance_km('430524', SHANGHAI_CITY) or 0, -1):.0f} km"
    assert said == "distance: 890 km"


def test_factors_weigh_occupation_over_brand_over_the_rest() -> None:
    exact = worker(1)
    group_preferred = worker(2, occupations=("6-04-09-01",), brand_id=BRAND)
    assert order(group_preferred, exact) == [1, 2]
    branded = worker(3, brand_id=BRAND)
    certified = worker(4, certificates=(Skill("vocational_skill", 1, "电工"),) * 3)
    assert order(certified, branded) == [3, 4]


def test_ties_keep_the_order_they_came_in() -> None:
    same = [worker(n) for n in range(1, 8)]
    assert order(*same) == list(range(1, 8))
    assert order(*reversed(same)) == list(range(7, 0, -1))
    assert order(*same) == order(*same)


def test_limit_and_scores() -> None:
    ranked = rank_candidates(DEMAND, [worker(n) for n in range(30)], 5)
    assert len(ranked) == 5
    perfect = worker(1, brand_id=BRAND, certificates=(Skill("qualification", 1, "x"),) * 3)
    score, said = assess(replace(DEMAND, city_code="430100"), perfect)
    assert score == 100.0
    assert said[0] == "occupation: exact"
    assert said[-1] == "distance: 0 km"


def test_the_reverse_ranking_orders_demands_for_a_worker() -> None:
    exact = DEMAND
    group = replace(DEMAND, demand_id=UUID(int=2), occupation="6-04-05-01")
    prefers = replace(DEMAND, demand_id=UUID(int=3), preferred_brands=frozenset())
    near = replace(DEMAND, demand_id=UUID(int=4), province="440000", city_code="440100")
    branded = worker(1, brand_id=BRAND)
    ranked = rank_openings(branded, [group, prefers, exact, near], 10)
    assert [r.item.demand_id.int for r in ranked] == [4, 1, 3, 2]
    assert "brand: preferred" in ranked[0].reasons
    assert ranked[-1].reasons[0] == "occupation: group 6-04"


@pytest.mark.parametrize("province", sorted(CAPITALS))
def test_every_province_has_a_capital_near_it(province: str) -> None:
    assert distance_km(province, province) == 0.0
    assert 0 < (distance_km(province, "110000") or 1) < 3500 or province == "110000"


def test_distance_is_province_level_and_unknown_outside() -> None:
    assert distance_km("430524", "430100") == 0.0
    assert distance_km("430524", "710000") is None
    assert "distance: unknown" in reasons(worker(1, county="710100"))
