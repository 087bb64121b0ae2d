import re
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from laborcoop.contracts.codes import Sex
from laborcoop.contracts.identifiers import (
    CREDIT_CODE_ALPHABET,
    CREDIT_CODE_PATTERN,
    RESIDENT_ID_EXAMPLE,
    RESIDENT_ID_PATTERN,
    CreditCode,
    MobilePhone,
    ResidentId,
    birth_date_of,
    check_character,
    check_credit_code,
    check_mobile,
    check_resident_id,
    county_of,
    make_credit_code,
    make_resident_id,
    mask_name,
    mask_phone,
    mask_resident_id,
    province_of,
    sex_of,
)
from laborcoop.contracts.provinces import PROVINCES

counties = st.from_regex(f"({'|'.join(p[:2] for p in PROVINCES)})[0-9]{{4}}", fullmatch=True)
births = st.dates(date(1940, 1, 1), date(2008, 12, 31))
resident_ids = st.builds(make_resident_id, counties, births, st.integers(0, 999))
credit17s = st.from_regex(re.compile(CREDIT_CODE_PATTERN[:-5] + "{9}", re.ASCII), fullmatch=True)


def _with_check(first17: str) -> str:
    return first17 + check_character(first17)


def test_the_standards_own_example_by_hand() -> None:
    # GB 11643-1999: 11010519491231002X. Σ digit × weight = 167, 167 mod 11 = 2 → "10X…"[2].
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    assert sum(int(d) * w for d, w in zip("11010519491231002", weights, strict=True)) == 167
    assert check_character("11010519491231002") == "X"
    value = "11010519491231002X"
    assert check_resident_id(value) == value
    assert birth_date_of(value) == date(1949, 12, 31)
    assert sex_of(value) is Sex.FEMALE
    assert county_of(value) == "110105"
    assert province_of(value) == "110000"
    assert check_resident_id("11010519491231002x") == "11010519491231002X"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (RESIDENT_ID_EXAMPLE[:17], "18 characters, not 17"),
        (RESIDENT_ID_EXAMPLE + "1", "18 characters, not 19"),
        (RESIDENT_ID_EXAMPLE[:5] + "A" + RESIDENT_ID_EXAMPLE[6:], "17 digits followed by"),
        ("４" + RESIDENT_ID_EXAMPLE[1:], "17 digits followed by"),
        (_with_check("99052419900517123"), "first two digits 99 are not a province"),
        (_with_check("71052419900517123"), "first two digits 71 are not a province"),
        (_with_check("43052419900230123"), "not a calendar date"),
        (_with_check("43052418991231123"), "before 1900"),
        (_with_check(f"430524{date.today().year + 1}0101123"), "in the future"),
        ("11010519491231002" + "1", "check character"),
    ],
)
def test_each_fault_of_an_id_is_named(value: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        check_resident_id(value)


@given(counties, births, st.integers(0, 999))
def test_made_ids_round_trip(county: str, birth: date, sequence: int) -> None:
    value = make_resident_id(county, birth, sequence)
    assert check_resident_id(value) == value
    assert birth_date_of(value) == birth
    assert county_of(value) == county
    assert province_of(value) in PROVINCES
    assert sex_of(value) is (Sex.MALE if sequence % 2 else Sex.FEMALE)


@given(resident_ids, st.integers(0, 17), st.sampled_from("0123456789X"))
def test_any_one_character_change_is_refused(value: str, at: int, char: str) -> None:
    changed = value[:at] + char + value[at + 1 :]
    if changed != value:
        with pytest.raises(ValueError, match=r"resident ID|digits|check character"):
            check_resident_id(changed)


def test_make_resident_id_refuses_bad_parts() -> None:
    with pytest.raises(ValueError, match="six digits"):
        make_resident_id("43052", date(1990, 1, 1), 1)
    with pytest.raises(ValueError, match="0–999"):
        make_resident_id("430524", date(1990, 1, 1), 1000)
    with pytest.raises(ValueError, match="in the future"):
        make_resident_id("430524", date(date.today().year + 1, 1, 1), 1)


def test_a_credit_code_by_hand() -> None:
    # 91350100M000100Y4?: M = 21, Y = 30; Σ value × weight = 1640 = 52 × 31 + 28 → 31 - 28 = 3.
    weights = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]
    values = [CREDIT_CODE_ALPHABET.index(c) for c in "91350100M000100Y4"]
    assert sum(v * w for v, w in zip(values, weights, strict=True)) == 1640
    assert make_credit_code("91350100M000100Y4") == "91350100M000100Y43"
    assert check_credit_code("91350100m000100y43") == "91350100M000100Y43"


@given(credit17s, st.integers(0, 17), st.sampled_from(CREDIT_CODE_ALPHABET))
def test_made_credit_codes_pass_and_any_change_fails(first17: str, at: int, char: str) -> None:
    code = make_credit_code(first17)
    assert check_credit_code(code) == code
    assert re.fullmatch(CREDIT_CODE_PATTERN, code)
    changed = code[:at] + char + code[at + 1 :]
    if changed != code:
        with pytest.raises(ValueError, match=r"check character|division code"):
            check_credit_code(changed)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("91350100M000100Y4", "18 characters, not 17"),
        ("91350100M000100YI3", "'I': a credit code has only"),
        ("9135O1S0M000100Y43", "'OS': a credit code has only"),
        ("913501A0M000100Y43", r"characters 3–8 .* must be digits"),
        ("91350100M000100Y44", "check character"),
    ],
)
def test_each_fault_of_a_credit_code_is_named(value: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        check_credit_code(value)


@pytest.mark.parametrize(
    "value", ["12812345678", "1381234567", "138 1234 5678", "+8613812345678", "1381234567８"]
)
def test_only_the_11_digit_form_of_a_mobile_is_taken(value: str) -> None:
    assert check_mobile("13812345678") == "13812345678"
    assert check_mobile("19900001111") == "19900001111"
    with pytest.raises(ValueError, match="11 digits starting 13–19"):
        check_mobile(value)


def test_masks() -> None:
    assert mask_name("张三") == "张*"
    assert mask_name("欧阳娜娜") == "欧***"
    assert mask_name("") == ""
    assert mask_resident_id("430524199001011234") == "430524********1234"
    assert mask_resident_id("4305241990") == "**********"
    assert mask_phone("13812345678") == "138****5678"
    assert mask_phone("138") == "***"


class _Worker(BaseModel):
    resident_id: ResidentId
    phone: MobilePhone
    employer: CreditCode


_VALID = {
    "resident_id": "11010519491231002x",
    "phone": "13812345678",
    "employer": "91350100m000100y43",
}


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("resident_id", "110105194912310021", "check character"),
        ("phone", "+8613812345678", "11 digits starting 13–19"),
        ("employer", "91350100M000100Y44", "check character"),
    ],
)
def test_the_types_report_their_message(field: str, value: str, message: str) -> None:
    with pytest.raises(ValidationError, match=message) as caught:
        _Worker.model_validate(_VALID | {field: value})
    assert caught.value.errors()[0]["loc"] == (field,)


def test_the_types_normalise_and_carry_their_patterns() -> None:
    worker = _Worker.model_validate(_VALID)
    assert (worker.resident_id, worker.employer) == ("11010519491231002X", "91350100M000100Y43")
    properties = _Worker.model_json_schema()["properties"]
    assert properties["resident_id"]["pattern"] == RESIDENT_ID_PATTERN
    assert properties["employer"]["pattern"] == CREDIT_CODE_PATTERN
    assert properties["phone"]["pattern"] == r"^1[3-9]\d{9}$"
    for name in ("resident_id", "employer", "phone"):
        (example,) = properties[name]["examples"]
        assert re.fullmatch(properties[name]["pattern"], example)
        _Worker.model_validate(_VALID | {name: example})
