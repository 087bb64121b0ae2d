"""The views' rules of who sees what (``laborcoop.gateway.views.authorization``) as matrices:
every view × every kind of caller, and every record kind × state × relation to the caller.
``test_views.py`` checks that the lists and overviews apply the same rules to real rows."""

import pytest

from laborcoop.common.principal import Principal, Role
from laborcoop.common.problems import Forbidden
from laborcoop.contracts.codes import AgreementStatus
from laborcoop.gateway.views.authorization import (
    ACCESS,
    Kind,
    View,
    Viewer,
    agreement_scope,
    counts_agreement,
    demand_scope,
    placement_scope,
    require,
    sees_agreement,
    sees_demand,
    sees_placement,
    viewer_of,
)

HUNAN, GUANGDONG, SHANGHAI = "430000", "440000", "310000"

OWN = Viewer(Kind.PROVINCE, HUNAN)
OTHER = Viewer(Kind.PROVINCE, SHANGHAI)
MINISTRY = Viewer(Kind.MINISTRY)
OBSERVER = Viewer(Kind.OBSERVER)
NOBODY = Viewer(Kind.NONE)

P, M, OBS = Kind.PROVINCE, Kind.MINISTRY, Kind.OBSERVER
EXPECTED_ACCESS = {
    View.AGREEMENTS: {P, M},
    View.DEMANDS: {P, M},
    View.PLACEMENTS: {P},
    View.PROVINCES: {P, M},
    View.PROVINCE_OVERVIEW: {P, M},
    View.CORRIDORS: {P, M},
    View.BRAND_IMPACT: {P, M},
    View.NATIONAL: {P, M, OBS},
}
"""The issue's rule: observers read national aggregates only, the ministry never a placement
record, a caller with no known role nothing."""


def test_the_access_table_is_the_rule() -> None:
    assert set(ACCESS) == set(View)
    assert {view: set(kinds) for view, kinds in ACCESS.items()} == EXPECTED_ACCESS


@pytest.mark.parametrize("view", list(View))
@pytest.mark.parametrize("viewer", [OWN, MINISTRY, OBSERVER, NOBODY], ids=lambda v: v.kind)
def test_require_refuses_exactly_the_kinds_a_view_does_not_answer(
    view: View, viewer: Viewer
) -> None:
    if viewer.kind in EXPECTED_ACCESS[view]:
        require(viewer, view)
    else:
        with pytest.raises(Forbidden):
            require(viewer, view)


@pytest.mark.parametrize(
    ("roles", "province", "expected"),
    [
        ({Role.PROVINCE}, HUNAN, OWN),
        ({Role.MINISTRY}, None, MINISTRY),
        ({Role.MINISTRY, Role.PROVINCE}, HUNAN, MINISTRY),
        ({Role.OBSERVER}, None, OBSERVER),
        ({Role.OBSERVER, Role.PROVINCE}, HUNAN, OWN),
        ({Role.PROVINCE}, None, NOBODY),
        (set(), HUNAN, NOBODY),
    ],
)
def test_a_token_makes_one_kind_of_viewer(
    roles: set[Role], province: str | None, expected: Viewer
) -> None:
    assert viewer_of(Principal("c", province, frozenset(roles))) == expected


S = AgreementStatus
EVERY_STATUS = list(S)
PUBLIC = {S.ACTIVE, S.EXPIRED, S.TERMINATED}


def expected_sight(viewer: Viewer, status: S, initiator: str, parties: set[str]) -> bool:
    """The rule in words: a draft to its initiator, the other states to the parties; to the
    ministry once public; to no one else."""
    if viewer is MINISTRY:
        return status in PUBLIC
    if viewer.province not in parties:
        return False
    return status != S.DRAFT or viewer.province == initiator


@pytest.mark.parametrize("status", EVERY_STATUS)
@pytest.mark.parametrize(
    ("initiator", "parties"),
    [
        (HUNAN, {HUNAN, GUANGDONG}),
        (GUANGDONG, {HUNAN, GUANGDONG}),
        (SHANGHAI, {SHANGHAI, "530000"}),
    ],
    ids=["own-initiated", "party", "not-a-party"],
)
@pytest.mark.parametrize("viewer", [OWN, MINISTRY, OBSERVER, NOBODY], ids=lambda v: v.kind)
def test_who_sees_an_agreement(
    status: S, initiator: str, parties: set[str], viewer: Viewer
) -> None:
    assert sees_agreement(viewer, status, initiator, parties) == (
        viewer.kind in {P, M} and expected_sight(viewer, status, initiator, parties)
    )


@pytest.mark.parametrize("status", EVERY_STATUS)
def test_aggregates_count_a_draft_only_in_its_initiators_own_overview(status: S) -> None:
    draft = status == S.DRAFT
    assert counts_agreement(OWN, status, HUNAN, own_overview=True)
    assert counts_agreement(OWN, status, GUANGDONG, own_overview=True) is not draft
    assert counts_agreement(OWN, status, HUNAN, own_overview=False) is not draft
    assert counts_agreement(MINISTRY, status, HUNAN, own_overview=True) is not draft


@pytest.mark.parametrize(
    ("viewer", "own", "foreign"),
    [
        (OWN, True, False),
        (OTHER, False, False),
        (MINISTRY, True, True),
        (OBSERVER, False, False),
        (NOBODY, False, False),
    ],
    ids=["own", "other", "ministry", "observer", "nobody"],
)
def test_who_sees_a_demand(viewer: Viewer, own: bool, foreign: bool) -> None:
    assert sees_demand(viewer, HUNAN) is own
    assert sees_demand(viewer, GUANGDONG) is foreign


@pytest.mark.parametrize(
    ("origin", "destination", "hunan_sees"),
    [(HUNAN, GUANGDONG, True), (GUANGDONG, HUNAN, True), (SHANGHAI, GUANGDONG, False)],
)
def test_who_sees_a_placement(origin: str, destination: str, hunan_sees: bool) -> None:
    assert sees_placement(OWN, origin, destination) is hunan_sees
    for viewer in (MINISTRY, OBSERVER, NOBODY):
        assert not sees_placement(viewer, origin, destination)


def test_the_scopes_the_lists_apply_are_the_rules() -> None:
    assert agreement_scope(OWN).province == HUNAN
    assert agreement_scope(OWN).public_states is None
    assert agreement_scope(MINISTRY).province is None
    assert set(agreement_scope(MINISTRY).public_states or ()) == PUBLIC
    assert demand_scope(OWN) == HUNAN
    assert demand_scope(MINISTRY) is None
    assert placement_scope(OWN) == HUNAN
    for refused in (OBSERVER, NOBODY):
        for scope in (agreement_scope, demand_scope, placement_scope):
            with pytest.raises(Forbidden):
                scope(refused)
    with pytest.raises(Forbidden):
        placement_scope(MINISTRY)
