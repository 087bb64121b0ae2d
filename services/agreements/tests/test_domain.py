"""The agreement state machine, with no I/O: rules, every illegal transition, events."""

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from laborcoop.agreements.domain import Agreement
from laborcoop.common.auth import Principal, Role
from laborcoop.common.errors import Conflict, Forbidden, InvalidInput, InvalidState
from laborcoop.contracts.agreements import Party, Target, Terms
from laborcoop.contracts.codes import AgreementKind, AgreementStatus, PartyRole
from laborcoop.contracts.events import decode

NOW = datetime(2025, 3, 1, 2, tzinfo=UTC)
TODAY = date(2025, 3, 1)
SH, YN, SD, GS, NX, HN = "310000", "530000", "370000", "620000", "640000", "430000"
S = AgreementStatus


def province(code: str) -> Principal:
    return Principal(client_id=f"hr-{code}", province=code, roles=frozenset({Role.PROVINCE}))


MINISTRY = Principal(client_id="mohrss", province=None, roles=frozenset({Role.MINISTRY}))


def terms(*members: str, kind: AgreementKind = AgreementKind.BILATERAL, **extra: object) -> Terms:
    values: dict[str, object] = {
        "title": "深化沪滇劳务协作",
        "kind": kind,
        "initiator": members[0],
        "parties": tuple(Party(province=p, role=PartyRole.BOTH) for p in members),
        "effective_from": TODAY,
        **extra,
    }
    return Terms.model_validate(values)


def drafted(*members: str, **extra: Any) -> Agreement:
    members = members or (SH, YN)
    return Agreement.draft(province(members[0]), terms(*members, **extra), NOW)


def proposed(*members: str, **extra: Any) -> Agreement:
    agreement = drafted(*members, **extra)
    agreement.propose(province(agreement.initiator), NOW)
    return agreement


def active(*members: str) -> Agreement:
    kind = AgreementKind.BILATERAL if len(members) == 2 else AgreementKind.ALLIANCE
    agreement = proposed(*members, kind=kind)
    for member in agreement.parties:
        agreement.sign(province(member), member, TODAY, NOW)
    assert state(agreement) == S.ACTIVE
    return agreement


def state(agreement: Agreement) -> AgreementStatus:
    """The status, read through a call so that the type checker does not pin it."""
    return agreement.status


def types(agreement: Agreement) -> list[str]:
    return [e.type.split(".")[-2] for e in agreement.pending_events]


@pytest.mark.parametrize(
    ("members", "kind", "field"),
    [
        ((SH,), AgreementKind.BILATERAL, "parties"),
        ((SH, YN, HN), AgreementKind.BILATERAL, "parties"),
        ((SH, SH), AgreementKind.BILATERAL, "parties"),
        ((SH,), AgreementKind.ALLIANCE, "parties"),
    ],
)
def test_party_rules(members: tuple[str, ...], kind: AgreementKind, field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        Agreement.draft(province(SH), terms(*members, kind=kind), NOW)
    assert field in [e.field for e in caught.value.errors]


def test_targets_run_between_parties_and_dates_in_order() -> None:
    bad = terms(
        SH,
        YN,
        targets=(
            Target(period="2025", origin=YN, destination=HN, workers_transferred=10),
            Target(period="2025", origin=SH, destination=SH, job_postings=1),
        ),
        effective_to=date(2024, 1, 1),
    )
    with pytest.raises(InvalidInput) as caught:
        Agreement.draft(province(SH), bad, NOW)
    assert {e.field for e in caught.value.errors} == {
        "targets.0.destination",
        "targets.1",
        "effective_to",
    }


def test_only_the_initiator_drafts_and_the_draft_is_seen_by_it_alone() -> None:
    with pytest.raises(Forbidden):
        Agreement.draft(province(YN), terms(SH, YN), NOW)
    draft = drafted()
    assert draft.visible_to(province(SH))
    assert not draft.visible_to(province(YN))
    assert not draft.visible_to(MINISTRY)
    [event] = draft.pending_events
    assert event.province_codes == (SH,)


def test_edit_only_by_the_initiator_and_only_in_draft() -> None:
    draft = drafted()
    with pytest.raises(Forbidden):
        draft.update_draft(province(YN), terms(SH, YN), NOW)
    draft.update_draft(province(SH), terms(SH, YN, title="沪滇劳务协作（修订稿）"), NOW)
    assert draft.terms.title == "沪滇劳务协作（修订稿）"
    draft.propose(province(SH), NOW)
    with pytest.raises(InvalidState):
        draft.update_draft(province(SH), terms(SH, YN), NOW)


def test_proposal_is_seen_by_parties_and_names_them_all() -> None:
    agreement = proposed(SH, YN)
    assert agreement.visible_to(province(YN))
    assert not agreement.visible_to(province(HN))
    assert agreement.pending_events[-1].province_codes == (SH, YN)


def test_signing_once_each_then_active_on_the_start_date() -> None:
    agreement = proposed()
    agreement.sign(province(YN), YN, TODAY, NOW)
    with pytest.raises(Conflict):
        agreement.sign(province(YN), YN, TODAY, NOW)
    assert state(agreement) == S.PROPOSED
    agreement.sign(province(SH), SH, TODAY, NOW)
    assert state(agreement) == S.ACTIVE
    assert types(agreement)[-3:] == ["signed", "signed", "activated"]
    assert agreement.visible_to(province(HN))


def test_a_province_signs_only_for_itself_and_only_as_a_party() -> None:
    agreement = proposed()
    with pytest.raises(Forbidden):
        agreement.sign(province(SH), YN, TODAY, NOW)
    with pytest.raises(Forbidden):
        agreement.sign(province(HN), HN, TODAY, NOW)
    with pytest.raises(Forbidden):
        agreement.sign(MINISTRY, SH, TODAY, NOW)


def test_fully_signed_before_the_start_waits_then_the_clock_activates() -> None:
    agreement = proposed(
        effective_from=TODAY + timedelta(days=10), effective_to=TODAY + timedelta(days=40)
    )
    for member in agreement.parties:
        agreement.sign(province(member), member, TODAY, NOW)
    assert state(agreement) == S.SIGNED
    assert not agreement.due(TODAY)
    assert agreement.due(TODAY + timedelta(days=10))
    agreement.advance(TODAY + timedelta(days=10), NOW)
    assert state(agreement) == S.ACTIVE
    agreement.advance(TODAY + timedelta(days=40), NOW)
    assert state(agreement) == S.ACTIVE
    agreement.advance(TODAY + timedelta(days=41), NOW)
    assert state(agreement) == S.EXPIRED
    assert types(agreement)[-2:] == ["activated", "expired"]


def test_a_decline_returns_the_proposal_to_draft_with_the_reason() -> None:
    agreement = proposed()
    agreement.sign(province(SH), SH, TODAY, NOW)
    agreement.decline(province(YN), YN, "指标需调整", NOW)
    assert state(agreement) == S.DRAFT
    assert agreement.signatures == {}
    payload = decode(agreement.pending_events[-1])
    assert payload.model_dump()["reason"] == "指标需调整"
    agreement.update_draft(province(SH), terms(SH, YN, title="再议"), NOW)
    assert agreement.pending_events[-1].province_codes == (SH, YN)


def test_an_amendment_is_signed_again_while_the_old_terms_stay_in_force() -> None:
    agreement = active(SH, YN)
    amended = terms(SH, YN, title="深化沪滇劳务协作（2026 修订）")
    agreement.amend(province(YN), amended, NOW)
    assert agreement.terms.title == "深化沪滇劳务协作"
    assert (agreement.status, agreement.revision) == (S.ACTIVE, 1)
    with pytest.raises(InvalidState):
        agreement.amend(province(SH), amended, NOW)
    agreement.sign(province(SH), SH, TODAY, NOW)
    agreement.sign(province(YN), YN, TODAY, NOW)
    assert (agreement.terms.title, agreement.revision) == ("深化沪滇劳务协作（2026 修订）", 2)
    assert agreement.amendment is None
    assert types(agreement)[-4:] == ["proposed", "signed", "signed", "amended"]


def test_a_declined_amendment_is_dropped() -> None:
    agreement = active(SH, YN)
    agreement.amend(province(SH), terms(SH, YN, title="改"), NOW)
    agreement.decline(province(YN), YN, "不同意", NOW)
    assert (agreement.status, agreement.amendment, agreement.revision) == (S.ACTIVE, None, 1)


def test_amendments_keep_parties_and_come_from_parties() -> None:
    agreement = active(SH, YN)
    with pytest.raises(InvalidInput):
        agreement.amend(province(SH), terms(SH, HN), NOW)
    with pytest.raises(Forbidden):
        agreement.amend(province(HN), terms(SH, YN), NOW)


def test_termination_by_a_party_with_a_reason() -> None:
    agreement = active(SH, YN)
    with pytest.raises(Forbidden):
        agreement.terminate(province(HN), "无关", NOW)
    agreement.terminate(province(YN), "协作目标调整", NOW)
    assert state(agreement) == S.TERMINATED


ILLEGAL: list[tuple[str, Callable[[], Agreement], Callable[[Agreement], None]]] = [
    ("propose twice", proposed, lambda a: a.propose(province(SH), NOW)),
    ("sign a draft", drafted, lambda a: a.sign(province(SH), SH, TODAY, NOW)),
    ("decline a draft", drafted, lambda a: a.decline(province(YN), YN, "否", NOW)),
    ("amend a draft", drafted, lambda a: a.amend(province(SH), terms(SH, YN), NOW)),
    ("terminate a draft", drafted, lambda a: a.terminate(province(SH), "否", NOW)),
    ("terminate a proposal", proposed, lambda a: a.terminate(province(SH), "否", NOW)),
    ("amend a proposal", proposed, lambda a: a.amend(province(SH), terms(SH, YN), NOW)),
    ("propose an active one", active, lambda a: a.propose(province(SH), NOW)),
    ("sign an active one", active, lambda a: a.sign(province(SH), SH, TODAY, NOW)),
    ("edit an active one", active, lambda a: a.update_draft(province(SH), terms(SH, YN), NOW)),
]


@pytest.mark.parametrize(("name", "make", "act"), ILLEGAL, ids=[i[0] for i in ILLEGAL])
def test_illegal_transitions_are_409_naming_the_state(
    name: str, make: Callable[[], Agreement], act: Callable[[Agreement], None]
) -> None:
    agreement = make()
    before = (agreement.status, agreement.version)
    with pytest.raises(Conflict) as caught:
        act(agreement)
    assert caught.value.extensions["current_state"] == before[0]
    assert (agreement.status, agreement.version) == before


@pytest.mark.parametrize("end", ["terminated", "expired"])
def test_ended_agreements_accept_nothing(end: str) -> None:
    agreement = active(SH, YN)
    if end == "terminated":
        agreement.terminate(province(SH), "结束", NOW)
    else:
        agreement.terms = agreement.terms.model_copy(update={"effective_to": TODAY})
        agreement.advance(TODAY + timedelta(days=1), NOW)
    acts: list[Callable[[], None]] = [
        lambda: agreement.terminate(province(SH), "再", NOW),
        lambda: agreement.amend(province(SH), terms(SH, YN), NOW),
        lambda: agreement.sign(province(SH), SH, TODAY, NOW),
        lambda: agreement.propose(province(SH), NOW),
    ]
    for act in acts:
        with pytest.raises(InvalidState):
            act()


def test_versions_count_every_event() -> None:
    agreement = active(SD, GS, NX)
    assert [e.version for e in agreement.pending_events] == list(range(1, 7))
    assert agreement.version == 6


def signed_not_started() -> Agreement:
    agreement = proposed(effective_from=TODAY + timedelta(days=30))
    for member in agreement.parties:
        agreement.sign(province(member), member, TODAY, NOW)
    return agreement


def under_amendment() -> Agreement:
    agreement = active(SH, YN)
    agreement.amend(province(SH), terms(SH, YN, title="修订"), NOW)
    return agreement


def expired() -> Agreement:
    agreement = active(SH, YN)
    agreement.terms = agreement.terms.model_copy(update={"effective_to": TODAY})
    agreement.advance(TODAY + timedelta(days=1), NOW)
    return agreement


def terminated() -> Agreement:
    agreement = active(SH, YN)
    agreement.terminate(province(SH), "结束", NOW)
    return agreement


STATES: dict[str, Callable[[], Agreement]] = {
    "draft": drafted,
    "proposed": proposed,
    "signed": signed_not_started,
    "active": lambda: active(SH, YN),
    "amending": under_amendment,
    "expired": expired,
    "terminated": terminated,
}
COMMANDS: dict[str, Callable[[Agreement], None]] = {
    "edit": lambda a: a.update_draft(province(SH), terms(SH, YN, title="改稿"), NOW),
    "propose": lambda a: a.propose(province(SH), NOW),
    "sign": lambda a: a.sign(province(YN), YN, TODAY, NOW),
    "decline": lambda a: a.decline(province(YN), YN, "不同意", NOW),
    "amend": lambda a: a.amend(province(YN), terms(SH, YN, title="再修订"), NOW),
    "terminate": lambda a: a.terminate(province(YN), "结束", NOW),
}
ALLOWED = {
    "draft": {"edit", "propose"},
    "proposed": {"sign", "decline"},
    "signed": {"terminate"},
    "active": {"amend", "terminate"},
    "amending": {"sign", "decline", "terminate"},
    "expired": set(),
    "terminated": set(),
}


@pytest.mark.parametrize("state", list(STATES))
@pytest.mark.parametrize("command", list(COMMANDS))
def test_every_command_in_every_state(state: str, command: str) -> None:
    """The whole transition table: allowed commands change the version by their events;
    every other command is a 409 naming the current state and changes nothing."""
    agreement = STATES[state]()
    before = (agreement.status, agreement.version, agreement.terms, agreement.amendment)
    if command in ALLOWED[state]:
        COMMANDS[command](agreement)
        assert agreement.version > before[1]
        return
    with pytest.raises(Conflict) as caught:
        COMMANDS[command](agreement)
    assert caught.value.extensions["current_state"] == before[0]
    assert (agreement.status, agreement.version, agreement.terms, agreement.amendment) == before


def test_signatures_of_the_terms_in_force_outlive_an_amendment() -> None:
    agreement = active(SH, YN)
    in_force = dict(agreement.signatures)
    assert set(in_force) == {SH, YN}
    agreement.amend(province(SH), terms(SH, YN, title="修订一"), NOW)
    agreement.sign(province(SH), SH, TODAY, NOW + timedelta(days=1))
    assert agreement.signatures == in_force
    assert set(agreement.amendment_signatures) == {SH}
    agreement.decline(province(YN), YN, "不同意", NOW)
    assert (agreement.signatures, agreement.amendment_signatures) == (in_force, {})
    agreement.amend(province(YN), terms(SH, YN, title="修订二"), NOW)
    later = NOW + timedelta(days=2)
    agreement.sign(province(SH), SH, TODAY, later)
    agreement.sign(province(YN), YN, TODAY, later)
    assert agreement.signatures == {SH: later, YN: later}
    assert agreement.amendment_signatures == {}
