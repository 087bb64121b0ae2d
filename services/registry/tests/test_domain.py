"""The brand aggregate's rules, with no I/O."""

from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from laborcoop.common.auth import Principal, Role
from laborcoop.common.errors import Forbidden, InvalidInput, InvalidState
from laborcoop.contracts.brands import (
    BrandIndicatorsReported,
    BrandRecognised,
    BrandRegistered,
    BrandUpdated,
    IndicatorFigures,
)
from laborcoop.contracts.codes import BrandCategory, BrandLevel, BrandStatus
from laborcoop.contracts.events import decode
from laborcoop.registry.domain import Attributes, Brand

NOW = datetime(2024, 11, 21, 9, 0, tzinfo=UTC)
HUNAN, HUBEI = "430000", "420000"


def province(code: str) -> Principal:
    return Principal(client_id=f"hr-{code}", province=code, roles=frozenset({Role.PROVINCE}))


MINISTRY = Principal(client_id="mohrss", province=None, roles=frozenset({Role.MINISTRY}))
OBSERVER = Principal(client_id="obs", province=None, roles=frozenset({Role.OBSERVER}))
ATTRS = Attributes(name="安化黑茶茶艺师", category=BrandCategory.SKILLED_TRADES)


def registered() -> Brand:
    return Brand.register(province(HUNAN), province=HUNAN, attributes=ATTRS, now=NOW)


def suspended_by(principal: Principal, *, recognised: bool = False) -> Brand:
    brand = registered()
    if recognised:
        brand.recognise(province(HUNAN), BrandLevel.PROVINCE, NOW)
    brand.suspend(principal, "复核", NOW)
    return brand


def test_registration_records_one_event_at_version_one() -> None:
    brand = registered()
    assert (brand.status, brand.level, brand.version) == (BrandStatus.REGISTERED, None, 1)
    [event] = brand.pending_events
    assert isinstance(decode(event), BrandRegistered)
    assert event.subject == str(brand.id)
    assert event.province_codes == (HUNAN,)
    assert event.version == 1


@pytest.mark.parametrize("who", [province(HUBEI), MINISTRY, OBSERVER], ids=["other", "min", "obs"])
def test_only_the_province_itself_registers(who: Principal) -> None:
    with pytest.raises(Forbidden):
        Brand.register(who, province=HUNAN, attributes=ATTRS, now=NOW)


@pytest.mark.parametrize("city", ["420100", HUNAN])
def test_city_code_must_lie_inside_the_province(city: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        Brand.register(
            province(HUNAN),
            province=HUNAN,
            attributes=Attributes(name="x y", category=ATTRS.category, city_code=city),
            now=NOW,
        )
    assert caught.value.errors[0].field == "city_code"


def test_update_records_changed_fields_and_nothing_when_nothing_changed() -> None:
    brand = registered()
    assert brand.update(province(HUNAN), ATTRS, NOW) is False
    assert brand.version == 1
    assert brand.update(province(HUNAN), brand.with_attributes(description="黑茶"), NOW)
    payload = decode(brand.pending_events[-1])
    assert isinstance(payload, BrandUpdated)
    assert payload.changed == ("description",)
    assert payload.description == "黑茶"
    assert brand.version == 2


def test_update_by_another_province_is_forbidden() -> None:
    with pytest.raises(Forbidden):
        registered().update(province(HUBEI), ATTRS, NOW)


def test_province_recognises_up_to_province_level_and_ministry_at_national() -> None:
    brand = registered()
    brand.recognise(province(HUNAN), BrandLevel.COUNTY, NOW)
    brand.recognise(province(HUNAN), BrandLevel.PROVINCE, NOW)
    brand.recognise(MINISTRY, BrandLevel.NATIONAL, NOW)
    assert (brand.status, brand.level, brand.version) == (
        BrandStatus.RECOGNISED,
        BrandLevel.NATIONAL,
        4,
    )
    last = decode(brand.pending_events[-1])
    assert isinstance(last, BrandRecognised)
    assert (last.previous_level, last.recognised_by) == (BrandLevel.PROVINCE, "ministry")


@pytest.mark.parametrize(
    ("who", "level"),
    [
        (province(HUNAN), BrandLevel.NATIONAL),
        (MINISTRY, BrandLevel.PROVINCE),
        (province(HUBEI), BrandLevel.CITY),
        (OBSERVER, BrandLevel.COUNTY),
    ],
    ids=["province-national", "ministry-province", "other-province", "observer"],
)
def test_recognition_beyond_authority_is_forbidden(who: Principal, level: BrandLevel) -> None:
    with pytest.raises(Forbidden):
        registered().recognise(who, level, NOW)


def test_recognition_never_lowers_or_repeats_a_level() -> None:
    brand = registered()
    brand.recognise(province(HUNAN), BrandLevel.CITY, NOW)
    for level in (BrandLevel.CITY, BrandLevel.COUNTY):
        with pytest.raises(InvalidState) as caught:
            brand.recognise(province(HUNAN), level, NOW)
        assert caught.value.extensions["current_state"] == "recognised"
        assert "already at city level" in str(caught.value.detail)


def test_ministry_suspends_any_brand_and_only_it_lifts_that_suspension() -> None:
    brand = suspended_by(MINISTRY, recognised=True)
    assert brand.status == BrandStatus.SUSPENDED
    with pytest.raises(Forbidden):
        brand.reinstate(province(HUNAN), NOW)
    brand.reinstate(MINISTRY, NOW)
    assert (brand.status, brand.level) == (BrandStatus.RECOGNISED, BrandLevel.PROVINCE)


def test_province_lifts_its_own_suspension_back_to_registered() -> None:
    brand = suspended_by(province(HUNAN))
    brand.reinstate(province(HUNAN), NOW)
    assert brand.status == BrandStatus.REGISTERED


def test_another_province_cannot_suspend() -> None:
    with pytest.raises(Forbidden):
        registered().suspend(province(HUBEI), "no", NOW)


def test_illegal_transitions_name_the_current_state() -> None:
    brand = suspended_by(MINISTRY)
    with pytest.raises(InvalidState) as caught:
        brand.suspend(MINISTRY, "again", NOW)
    assert caught.value.extensions["current_state"] == "suspended"
    with pytest.raises(InvalidState):
        brand.recognise(province(HUNAN), BrandLevel.CITY, NOW)
    with pytest.raises(InvalidState):
        registered().reinstate(MINISTRY, NOW)


def test_retired_is_final() -> None:
    brand = registered()
    brand.retire(province(HUNAN), "运营主体注销", NOW)
    version = brand.version
    commands: list[Callable[[], object]] = [
        lambda: brand.retire(MINISTRY, "again", NOW),
        lambda: brand.update(province(HUNAN), brand.with_attributes(description="x"), NOW),
        lambda: brand.recognise(province(HUNAN), BrandLevel.CITY, NOW),
        lambda: brand.suspend(MINISTRY, "x", NOW),
        lambda: brand.reinstate(MINISTRY, NOW),
        lambda: brand.report_indicators(
            province(HUNAN),
            period="2024",
            figures=IndicatorFigures(practitioners=1),
            source=None,
            current=None,
            now=NOW,
        ),
    ]
    for command in commands:
        with pytest.raises(InvalidState) as caught:
            command()
        assert caught.value.extensions["current_state"] == "retired"
    assert brand.version == version


def test_indicator_reports_are_revised_and_repeats_change_nothing() -> None:
    brand = registered()
    figures = IndicatorFigures(practitioners=15_000)
    first = brand.report_indicators(
        province(HUNAN), period="2024", figures=figures, source=None, current=None, now=NOW
    )
    assert first is not None
    assert first.revision == 1
    same = brand.report_indicators(
        province(HUNAN), period="2024", figures=figures, source=None, current=first, now=NOW
    )
    assert same is None
    corrected = brand.report_indicators(
        province(HUNAN),
        period="2024",
        figures=IndicatorFigures(practitioners=16_000),
        source=None,
        current=first,
        now=NOW,
    )
    assert corrected is not None
    assert corrected.revision == 2
    payload = decode(brand.pending_events[-1])
    assert isinstance(payload, BrandIndicatorsReported)
    assert (payload.correction, payload.revision) == (True, 2)
    assert [e.version for e in brand.pending_events] == [1, 2, 3]


def test_only_the_own_province_reports_indicators() -> None:
    with pytest.raises(Forbidden):
        registered().report_indicators(
            MINISTRY, period="2024", figures=IndicatorFigures(), source=None, current=None, now=NOW
        )
