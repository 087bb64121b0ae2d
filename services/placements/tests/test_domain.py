"""The labour exchange's aggregates, without I/O: every placement command in every state, the
demand's headcount, the worker's availability and consent."""

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from uuid import uuid4

import pytest

from laborcoop.common.principal import Principal, Role
from laborcoop.common.problems import Conflict, Forbidden, InvalidInput
from laborcoop.contracts.codes import (
    Availability,
    ConsentScope,
    DemandKind,
    DemandStatus,
    Education,
    PlacementStatus,
    ReturnPath,
    Sex,
)
from laborcoop.contracts.identifiers import make_resident_id
from laborcoop.placements.demands.domain import Demand, Posting
from laborcoop.placements.placements.domain import Match, Placement, add_months
from laborcoop.placements.workers.domain import (
    IdentityFacts,
    Profile,
    Sealed,
    Worker,
    identity_facts,
)

HN, SH = "430000", "310000"
NOW = datetime(2025, 3, 1, 2, tzinfo=UTC)
TODAY = date(2025, 3, 1)
LATER = date(2025, 12, 1)


def province(code: str) -> Principal:
    return Principal(f"dev-{code}", code, frozenset({Role.PROVINCE}))


MINISTRY = Principal("mohrss", None, frozenset({Role.MINISTRY}))
SEALED = Sealed("k1:a", "k1:b", "k1:c", "k1:d", b"\x00" * 32)


def worker() -> Worker:
    facts = IdentityFacts(Sex.FEMALE, date(1990, 5, 17), "430524")
    profile = Profile(Education.VOCATIONAL, ("4-10-01-01",))
    return Worker.register(province(HN), facts=facts, sealed=SEALED, profile=profile, now=NOW)


def posting(headcount: int = 2, **changes: object) -> Posting:
    values: dict[str, object] = {
        "kind": DemandKind.PLACEMENT,
        "employer_name": "上海某物业公司",
        "employer_credit_code": "91350100M000100Y43",
        "occupation": "4-10-01-01",
        "headcount": headcount,
        "wage_min": 6000,
        "wage_max": 9000,
        "city_code": "310115",
        "start_date": date(2025, 4, 1),
        **changes,
    }
    return Posting(**values)  # type: ignore[arg-type]


def demand(headcount: int = 2) -> Demand:
    return Demand.post(province(SH), posting(headcount), open_until=None, today=TODAY, now=NOW)


def proposed() -> Placement:
    match = Match(uuid4(), uuid4(), HN, SH, "4-10-01-01", None, uuid4(), False, False)
    return Placement.propose(province(SH), match, today=TODAY, now=NOW)


def accepted() -> Placement:
    p = proposed()
    p.accept(province(HN), identity_consent=True, now=NOW)
    return p


def onboarded() -> Placement:
    p = accepted()
    p.onboard(province(SH), TODAY, today=TODAY, now=NOW)
    return p


def completed() -> Placement:
    p = onboarded()
    p.complete(province(SH), LATER, today=LATER, now=NOW)
    return p


def declined() -> Placement:
    p = proposed()
    p.decline(province(HN), "本人另有安排", NOW)
    return p


def terminated() -> Placement:
    p = onboarded()
    p.terminate(province(SH), "用工单位调整", today=TODAY, now=NOW)
    return p


def returned() -> Placement:
    p = onboarded()
    p.return_home(province(HN), LATER, ReturnPath.BUSINESS_STARTUP, "艾灸馆", today=LATER, now=NOW)
    return p


STATES: dict[str, Callable[[], Placement]] = {
    "proposed": proposed,
    "accepted": accepted,
    "onboarded": onboarded,
    "completed": completed,
    "declined": declined,
    "terminated": terminated,
    "returned": returned,
}

COMMANDS: dict[str, Callable[[Placement], None]] = {
    "accept": lambda p: p.accept(province(HN), identity_consent=True, now=NOW),
    "decline": lambda p: p.decline(province(HN), "不去了", NOW),
    "onboard": lambda p: p.onboard(province(SH), TODAY, today=TODAY, now=NOW),
    "milestone": lambda p: p.reach_milestone(
        province(SH), 3, add_months(TODAY, 3), today=LATER, now=NOW
    ),
    "complete": lambda p: p.complete(province(HN), LATER, today=LATER, now=NOW),
    "terminate": lambda p: p.terminate(province(HN), "合同到期前离职", today=TODAY, now=NOW),
    "return": lambda p: p.return_home(
        province(SH), LATER, ReturnPath.LOCAL_JOB, None, today=LATER, now=NOW
    ),
}

ALLOWED = {
    "proposed": {"accept", "decline", "terminate"},
    "accepted": {"onboard", "terminate"},
    "onboarded": {"milestone", "complete", "terminate", "return"},
    "completed": {"return"},
    "declined": set(),
    "terminated": {"return"},
    "returned": set(),
}


@pytest.mark.parametrize("state", list(STATES))
@pytest.mark.parametrize("command", list(COMMANDS))
def test_every_command_in_every_state(state: str, command: str) -> None:
    """The whole transition table: an allowed command records one event; any other is a 409
    naming the current state and changes nothing."""
    placement = STATES[state]()
    before = (placement.status, placement.version, len(placement.pending_events))
    if command in ALLOWED[state]:
        COMMANDS[command](placement)
        assert placement.version == before[1] + 1
        assert len(placement.pending_events) == before[2] + 1
        return
    with pytest.raises(Conflict) as caught:
        COMMANDS[command](placement)
    assert caught.value.extensions["current_state"] == before[0].value
    assert (placement.status, placement.version, len(placement.pending_events)) == before


def test_events_name_both_provinces_and_no_person() -> None:
    placement = returned()
    for event in placement.pending_events:
        assert sorted(event.province_codes) == [SH, HN]
        assert set(event.data) >= {"worker_id", "origin", "destination", "status"}
        assert not {"name", "resident_id", "phone"} & set(event.data)


def test_who_may_act() -> None:
    with pytest.raises(Forbidden):
        Placement.propose(
            province(HN),
            Match(uuid4(), uuid4(), HN, SH, "4-10-01-01", None, None, True, False),
            today=TODAY,
            now=NOW,
        )
    with pytest.raises(Forbidden):
        proposed().accept(province(SH), identity_consent=True, now=NOW)
    with pytest.raises(Forbidden):
        accepted().onboard(province("440000"), TODAY, today=TODAY, now=NOW)
    with pytest.raises(Forbidden):
        proposed().terminate(MINISTRY, "no", today=TODAY, now=NOW)


def test_acceptance_needs_identity_consent() -> None:
    placement = proposed()
    with pytest.raises(Conflict, match="consent"):
        placement.accept(province(HN), identity_consent=False, now=NOW)
    assert placement.status == PlacementStatus.PROPOSED


def test_milestones_need_the_months_on_the_job_and_come_in_order() -> None:
    placement = onboarded()
    too_early = add_months(TODAY, 3) - timedelta(days=1)
    with pytest.raises(InvalidInput):
        placement.reach_milestone(province(SH), 3, too_early, today=LATER, now=NOW)
    with pytest.raises(Conflict, match="3-month"):
        placement.reach_milestone(province(SH), 6, add_months(TODAY, 6), today=LATER, now=NOW)
    placement.reach_milestone(province(SH), 3, add_months(TODAY, 3), today=LATER, now=NOW)
    with pytest.raises(Conflict, match="already"):
        placement.reach_milestone(province(SH), 3, add_months(TODAY, 4), today=LATER, now=NOW)
    placement.reach_milestone(province(HN), 6, add_months(TODAY, 6), today=LATER, now=NOW)
    assert placement.retained_6m_on == add_months(TODAY, 6)
    with pytest.raises(InvalidInput, match="future"):
        onboarded().complete(province(SH), TODAY + timedelta(days=1), today=TODAY, now=NOW)


def test_add_months_keeps_the_day_or_takes_the_month_end() -> None:
    assert add_months(date(2025, 1, 31), 1) == date(2025, 2, 28)
    assert add_months(date(2025, 11, 15), 3) == date(2026, 2, 15)


def test_a_demand_fills_at_its_headcount_and_refuses_one_more() -> None:
    d = demand(headcount=2)
    d.count_acceptance(NOW)
    assert d.status == DemandStatus.OPEN
    d.count_acceptance(NOW)
    assert d.status.value == "filled"
    assert d.pending_events[-1].type.endswith("demand.filled.v1")
    with pytest.raises(Conflict, match="headcount"):
        d.count_acceptance(NOW)
    assert d.accepted == 2


def test_demand_rules() -> None:
    with pytest.raises(InvalidInput) as caught:
        Demand.post(
            province(SH),
            posting(city_code="430524", wage_min=9000, wage_max=6000, start_date=date(2025, 1, 1)),
            open_until=None,
            today=TODAY,
            now=NOW,
        )
    fields = {e.field for e in caught.value.errors}
    assert fields == {"city_code", "wage_max", "start_date"}
    with pytest.raises(InvalidInput, match="end"):
        Demand.post(
            province(SH),
            posting(kind=DemandKind.SHARED_EMPLOYEE),
            open_until=None,
            today=TODAY,
            now=NOW,
        )
    with pytest.raises(Forbidden):
        Demand.post(MINISTRY, posting(), open_until=None, today=TODAY, now=NOW)
    d = demand()
    with pytest.raises(Forbidden):
        d.close(province(HN), "不要了", NOW)
    assert not d.expire(d.open_until, NOW)
    assert d.expire(d.open_until + timedelta(days=1), NOW)
    assert d.status == DemandStatus.EXPIRED


def test_identity_facts_come_from_the_id_number() -> None:
    facts = identity_facts(make_resident_id("430524", date(1990, 5, 17), 124))
    assert facts == IdentityFacts(Sex.FEMALE, date(1990, 5, 17), "430524")


def test_worker_availability_and_consent() -> None:
    w = worker()
    assert w.pending_events[0].provinces == HN
    w.grant_consent(
        province(HN), province=SH, scope=ConsentScope.IDENTITY, until=None, today=TODAY, now=NOW
    )
    assert w.consent_of(SH, ConsentScope.CONTACT, TODAY) is not None
    w.withdraw_consent(province(HN), province=SH, scope=ConsentScope.CONTACT, now=NOW)
    assert w.consent_of(SH, ConsentScope.IDENTITY, TODAY) is None
    with pytest.raises(Conflict):
        w.withdraw_consent(province(HN), province=SH, scope=ConsentScope.IDENTITY, now=NOW)
    with pytest.raises(Forbidden):
        w.grant_consent(
            province(SH), province=SH, scope=ConsentScope.CONTACT, until=None, today=TODAY, now=NOW
        )
    w.place(NOW)
    assert w.availability == Availability.PLACED
    with pytest.raises(Conflict):
        w.set_available(province(HN), False, NOW)
    w.release(NOW)
    assert w.availability.value == "available"
    expired = TODAY - timedelta(days=1)
    with pytest.raises(InvalidInput):
        w.grant_consent(
            province(HN),
            province=SH,
            scope=ConsentScope.CONTACT,
            until=expired,
            today=TODAY,
            now=NOW,
        )


def test_dates_follow_each_other_and_only_a_worker_who_left_returns() -> None:
    placement = onboarded()
    placement.reach_milestone(province(SH), 3, add_months(TODAY, 3), today=LATER, now=NOW)
    with pytest.raises(InvalidInput, match="before the last day"):
        placement.complete(province(SH), add_months(TODAY, 2), today=LATER, now=NOW)
    placement.complete(province(SH), add_months(TODAY, 4), today=LATER, now=NOW)
    with pytest.raises(InvalidInput, match="before the last day"):
        placement.return_home(
            province(HN), add_months(TODAY, 3), ReturnPath.TRAINING, None, today=LATER, now=NOW
        )
    never_left = accepted()
    never_left.terminate(province(HN), "未成行", today=TODAY, now=NOW)
    with pytest.raises(Conflict, match="never started"):
        never_left.return_home(
            province(HN), TODAY, ReturnPath.LOCAL_JOB, None, today=TODAY, now=NOW
        )


def test_no_one_under_sixteen_is_registered() -> None:
    young = IdentityFacts(Sex.MALE, date(2009, 3, 2), "430524")
    with pytest.raises(InvalidInput, match="under 16"):
        Worker.register(
            province(HN),
            facts=young,
            sealed=SEALED,
            profile=Profile(Education.PRIMARY, ("4-10-01-01",)),
            now=NOW,
        )
    sixteen = IdentityFacts(Sex.MALE, date(2009, 3, 1), "430524")
    Worker.register(
        province(HN),
        facts=sixteen,
        sealed=SEALED,
        profile=Profile(Education.PRIMARY, ("4-10-01-01",)),
        now=NOW,
    )


def test_an_observer_naming_a_province_acts_for_none() -> None:
    observer = Principal("obs", HN, frozenset({Role.OBSERVER}))
    with pytest.raises(Forbidden):
        Worker.register(
            observer,
            facts=IdentityFacts(Sex.MALE, date(1990, 1, 1), "430524"),
            sealed=SEALED,
            profile=Profile(Education.PRIMARY, ("4-10-01-01",)),
            now=NOW,
        )
    with pytest.raises(Forbidden):
        Demand.post(observer, posting(), open_until=None, today=TODAY, now=NOW)
    with pytest.raises(Forbidden):
        proposed().accept(observer, identity_consent=True, now=NOW)
