"""Building blocks of every public API model (DESIGN.md §6)."""

import unicodedata
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict


class ApiModel(BaseModel):
    """Request and response bodies: snake_case JSON; a request with an unknown field is a 422."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, allow_inf_nan=False)


def _nfc(value: str) -> str:
    return unicodedata.normalize("NFC", value)


NfcText = Annotated[str, AfterValidator(_nfc)]
"""Text stored and compared in Unicode normalisation form C."""
