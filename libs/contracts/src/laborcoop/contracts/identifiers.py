"""National identifiers checked to their standards, and the masked shapes shown in their place.

Resident identity numbers (GB 11643-1999), unified social credit codes (GB 32100-2015) and
mainland mobile numbers. Each check returns the normalised value or raises ``ValueError`` naming
what is wrong, without repeating personal data; the ``Annotated`` types run it under pydantic.
Callers who may not see personal data see only :func:`mask_name`, :func:`mask_resident_id` and
:func:`mask_phone`.
"""

import re
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Final

from pydantic import AfterValidator, WithJsonSchema

from laborcoop.contracts import provinces
from laborcoop.contracts.codes import Sex
from laborcoop.contracts.provinces import PROVINCES

# --- Resident identity number (GB 11643-1999) ---

RESIDENT_ID_PATTERN: Final = r"^\d{17}[\dXx]$"
_RESIDENT_ID = re.compile(r"[0-9]{17}[0-9Xx]")
_COUNTY = re.compile(r"[0-9]{6}")
# ISO 7064 MOD 11-2: the weight of position i (from 0) is 2^(17-i) mod 11.
RESIDENT_ID_WEIGHTS: Final = tuple(pow(2, 17 - i, 11) for i in range(17))
_RESIDENT_ID_CHECK: Final = "10X98765432"
_EARLIEST_BIRTH_YEAR: Final = 1900


def check_character(first17: str) -> str:
    """The 18th character (0–9 or X) of an ID number whose first 17 digits are ``first17``."""
    if not (len(first17) == 17 and first17.isascii() and first17.isdigit()):
        raise ValueError("the check character is computed from exactly 17 digits")
    total = sum(int(d) * w for d, w in zip(first17, RESIDENT_ID_WEIGHTS, strict=True))
    return _RESIDENT_ID_CHECK[total % 11]


def _birth_date(value: str) -> date:
    try:
        born = date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        raise ValueError("digits 7–14 are not a calendar date YYYYMMDD") from None
    if born.year < _EARLIEST_BIRTH_YEAR:
        raise ValueError(f"digits 7–14 are a birth date before {_EARLIEST_BIRTH_YEAR}")
    if born > date.today():
        raise ValueError("digits 7–14 are a birth date in the future")
    return born


def check_resident_id(value: str) -> str:
    """The 18-character resident ID number ``value`` with a final ``x`` as ``X``, if valid."""
    if len(value) != 18:
        raise ValueError(f"a resident ID number has 18 characters, not {len(value)}")
    if not _RESIDENT_ID.fullmatch(value):
        raise ValueError("a resident ID number is 17 digits followed by a digit or X")
    if provinces.province_of(value[:6]) not in PROVINCES:
        raise ValueError(f"the first two digits {value[:2]} are not a province of this system")
    _birth_date(value)
    normalised = value[:17] + value[17].upper()
    if check_character(value[:17]) != normalised[17]:
        raise ValueError("the check character (18th) does not match the first 17 digits")
    return normalised


@dataclass(frozen=True, slots=True)
class ResidentIdFacts:
    """What a resident ID number says of its holder, read once."""

    county: str
    birth_date: date
    sex: Sex


def facts_of(resident_id: str) -> ResidentIdFacts:
    """County, birth date and sex of a resident ID number, validated once."""
    checked = check_resident_id(resident_id)
    sex = Sex.MALE if int(checked[16]) % 2 else Sex.FEMALE
    return ResidentIdFacts(checked[:6], _birth_date(checked), sex)


def birth_date_of(resident_id: str) -> date:
    """The date of birth in digits 7–14 of a resident ID number."""
    return _birth_date(check_resident_id(resident_id))


def sex_of(resident_id: str) -> Sex:
    """The sex in the 17th digit of a resident ID number: odd is male."""
    return Sex.MALE if int(check_resident_id(resident_id)[16]) % 2 else Sex.FEMALE


def county_of(resident_id: str) -> str:
    """The GB/T 2260 county code of the first six digits (the place of first registration)."""
    return check_resident_id(resident_id)[:6]


def province_of(resident_id: str) -> str:
    """The province code (``430000``) of a resident ID number."""
    return provinces.province_of(county_of(resident_id))


def make_resident_id(county: str, birth: date, sequence: int) -> str:
    """A valid ID number for synthetic data: ``sequence`` (0–999) fills digits 15–17.

    Digit 17 is the sequence's last digit, so an odd sequence makes a man."""
    if not _COUNTY.fullmatch(county):
        raise ValueError("a county code has six digits")
    if not 0 <= sequence <= 999:
        raise ValueError("the sequence is 0–999")
    first17 = f"{county}{birth:%Y%m%d}{sequence:03d}"
    return check_resident_id(first17 + check_character(first17))


RESIDENT_ID_EXAMPLE: Final = make_resident_id("430524", date(1990, 5, 17), 123)
"""A fictional, valid ID number (隆回县, born 1990-05-17, male) for documentation."""

ResidentId = Annotated[
    str,
    AfterValidator(check_resident_id),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": RESIDENT_ID_PATTERN,
            "description": "a GB 11643-1999 resident identity number: a province of this "
            "system, a past birth date and an ISO 7064 MOD 11-2 check character",
            "examples": [RESIDENT_ID_EXAMPLE],
        }
    ),
]
"""A resident identity number (居民身份证号码), normalised with a capital X."""

# --- Unified social credit code (GB 32100-2015) ---

CREDIT_CODE_ALPHABET: Final = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # no I, O, S, V, Z
CREDIT_CODE_WEIGHTS: Final = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
# Positions 1–2: registering authority and organisation kind; 3–8: the administrative
# division code (GB/T 2260); 9–17: the organisation code (GB 11714); 18: the check character.
CREDIT_CODE_PATTERN: Final = r"^[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}$"
_CREDIT_CODE = re.compile(CREDIT_CODE_PATTERN, re.ASCII)
_CREDIT_VALUES: Final = {char: value for value, char in enumerate(CREDIT_CODE_ALPHABET)}


def _credit_check(first17: str) -> str:
    total = sum(_CREDIT_VALUES[c] * w for c, w in zip(first17, CREDIT_CODE_WEIGHTS, strict=True))
    return CREDIT_CODE_ALPHABET[(31 - total % 31) % 31]


def _in_alphabet(value: str) -> str:
    code = value.upper() if value.isascii() else value
    illegal = sorted({char for char in code if char not in _CREDIT_VALUES})
    if illegal:
        raise ValueError(
            f"{''.join(illegal)!r}: a credit code has only digits and capital letters "
            "other than I, O, S, V and Z"
        )
    return code


def check_credit_code(value: str) -> str:
    """The unified social credit code ``value`` in capitals, if valid."""
    if len(value) != 18:
        raise ValueError(f"a unified social credit code has 18 characters, not {len(value)}")
    code = _in_alphabet(value)
    if not _CREDIT_CODE.fullmatch(code):
        raise ValueError("characters 3–8 of a credit code must be digits (the division code)")
    if _credit_check(code[:17]) != code[17]:
        raise ValueError("the check character (18th) does not match the first 17 characters")
    return code


def make_credit_code(first17: str) -> str:
    """The valid credit code that ends ``first17`` with its check character."""
    if len(first17) != 17:
        raise ValueError("the check character is computed from exactly 17 characters")
    code = _in_alphabet(first17)
    return check_credit_code(code + _credit_check(code))


CreditCode = Annotated[
    str,
    AfterValidator(check_credit_code),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": CREDIT_CODE_PATTERN,
            "description": "a GB 32100-2015 unified social credit code with its check character",
            "examples": ["91350100M000100Y43"],
        }
    ),
]
"""A unified social credit code (统一社会信用代码), normalised to capitals."""

# --- Mainland mobile phone ---

MOBILE_PATTERN: Final = r"^1[3-9]\d{9}$"
_MOBILE = re.compile(MOBILE_PATTERN, re.ASCII)


def check_mobile(value: str) -> str:
    """The mainland mobile number ``value``, if it is 11 digits as dialled at home."""
    if not _MOBILE.fullmatch(value):
        raise ValueError(
            "a mobile number is 11 digits starting 13–19, without spaces or +86 (13812345678)"
        )
    return value


MobilePhone = Annotated[
    str,
    AfterValidator(check_mobile),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": MOBILE_PATTERN,
            "description": "a mainland mobile number: 11 digits, no spaces or country code",
            "examples": ["13812345678"],
        }
    ),
]
"""A mainland China mobile number, 11 digits as dialled at home."""

# --- Masks: the only shapes shown to callers who may not see personal data ---


def mask_name(name: str) -> str:
    """``张三`` → ``张*``: the family name's first character, one ``*`` per other character."""
    return name[:1] + "*" * (len(name) - 1) if name else ""


def mask_resident_id(resident_id: str) -> str:
    """``430524********1234``: the county and the last four; anything not 18 long is all ``*``."""
    if len(resident_id) != 18:
        return "*" * len(resident_id)
    return resident_id[:6] + "*" * 8 + resident_id[-4:]


def mask_phone(phone: str) -> str:
    """``138****5678``: the carrier prefix and the last four; anything not 11 long is all ``*``."""
    if len(phone) != 11:
        return "*" * len(phone)
    return phone[:3] + "****" + phone[-4:]
