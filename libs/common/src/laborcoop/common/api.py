"""Building blocks of every public API model (DESIGN.md §6): no unknown fields, no coercion
of types that would hide a client's mistake, text in NFC without control characters."""

import re
import unicodedata
from datetime import date
from typing import Annotated, Any, Final

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict


class ApiModel(BaseModel):
    """Request and response bodies: snake_case JSON; a request with an unknown field is a 422."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, allow_inf_nan=False)


_ALLOWED_CONTROLS: Final = frozenset("\t\n\r")
_INVISIBLE: Final = frozenset({"Cc", "Cf", "Zs", "Zl", "Zp"})


def _nfc(value: str) -> str:
    """NFC text that PostgreSQL can store and a person can read."""
    if any(unicodedata.category(c) == "Cc" and c not in _ALLOWED_CONTROLS for c in value):
        raise ValueError("control characters are not allowed")
    if value and all(unicodedata.category(c) in _INVISIBLE for c in value):
        raise ValueError("text must contain visible characters")
    return unicodedata.normalize("NFC", value)


NfcText = Annotated[str, AfterValidator(_nfc)]
"""Text stored and compared in Unicode normalisation form C."""


def _whole_number(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError("must be a whole number (not a string, boolean or decimal)")
    return value


WholeNumber = Annotated[int, BeforeValidator(_whole_number)]
"""An integer as JSON writes it: ``"15000"``, ``true`` and ``15000.0`` are refused."""

_ISO_DATE: Final = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _calendar_date(value: Any) -> Any:
    if isinstance(value, date) or (isinstance(value, str) and _ISO_DATE.match(value)):
        return value
    raise ValueError("must be a date written YYYY-MM-DD")


CalendarDate = Annotated[date, BeforeValidator(_calendar_date)]
"""A calendar day written ``YYYY-MM-DD`` (no timestamps, no numbers)."""
