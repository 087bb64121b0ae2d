"""Value types shared by every service's API models, defined once.

Each carries both its check and what the OpenAPI document says of it (laborcoop.contracts.openapi),
so that a client generated from the document sends only what the service accepts.
"""

import re
from collections.abc import Hashable, Sequence
from typing import Annotated, Any, Final, TypeVar

from pydantic import AfterValidator, Field

from laborcoop.common.inputs import NfcText, WholeNumber
from laborcoop.contracts.openapi import OPTIONAL_TEXT_PATTERN, TEXT_PATTERN, whole_number

H = TypeVar("H", bound=Hashable)

TEXT: Final[dict[str, Any]] = {"pattern": TEXT_PATTERN}
"""The schema extra of required text: what NfcText checks, as a pattern."""
OPTIONAL_TEXT: Final[dict[str, Any]] = {"pattern": OPTIONAL_TEXT_PATTERN}

_LONG_NUMBER: Final = re.compile(r"\d{11,}|\d{14,17}[Xx]")


def no_personal_numbers(text: str) -> str:
    """Free text that is published (in events and histories) carries no ID number or phone
    number: a run of 11 or more digits is refused."""
    if _LONG_NUMBER.search(text):
        raise ValueError("must not contain an ID number, a phone number or another long number")
    return text


Reason = Annotated[NfcText, Field(min_length=2, max_length=500, json_schema_extra=TEXT)]
"""Why a state changed (a suspension, a decline, a termination)."""
Note = Annotated[NfcText, Field(max_length=500, json_schema_extra=OPTIONAL_TEXT)]

PersonFreeReason = Annotated[Reason, AfterValidator(no_personal_numbers)]
"""A reason about a person's record (a placement declined or ended): published in events and
histories, so it carries no ID or phone number."""
PersonFreeNote = Annotated[Note, AfterValidator(no_personal_numbers)]

Count = Annotated[WholeNumber, Field(ge=0, le=100_000_000), whole_number(0, 100_000_000)]
"""People or postings: a whole number, never a string, boolean or decimal."""
Yuan = Annotated[
    WholeNumber,
    Field(ge=0, le=10_000_000_000_000),
    whole_number(0, 10_000_000_000_000, "integer yuan"),
]
"""Money: integer yuan."""


def distinct(values: Sequence[H]) -> Sequence[H]:
    """Refuse a list whose items repeat (the document says ``uniqueItems``)."""
    if len(set(values)) != len(values):
        raise ValueError("values must not repeat")
    return values


Distinct = (AfterValidator(distinct), Field(json_schema_extra={"uniqueItems": True}))
"""Annotations of a list whose items must not repeat: ``Annotated[list[X], *Distinct]``."""
