"""The registry document says what the service enforces: province codes, periods, text,
industries, figures and the required If-Match of PATCH."""

import re
from typing import Any

import jsonschema_rs
import pytest
from fastapi import FastAPI
from pydantic import ValidationError

from laborcoop.common.inputs import ApiModel, NfcText
from laborcoop.contracts.openapi import OPTIONAL_TEXT_PATTERN, TEXT_PATTERN
from laborcoop.contracts.provinces import PROVINCES


def _schemas(app: FastAPI) -> dict[str, Any]:
    schemas: dict[str, Any] = app.openapi()["components"]["schemas"]
    return schemas


def test_province_is_enumerated(registry_app: FastAPI) -> None:
    assert _schemas(registry_app)["BrandCreate"]["properties"]["province"]["enum"] == sorted(
        PROVINCES
    )


def test_period_path_parameter_has_its_pattern(registry_app: FastAPI) -> None:
    put = registry_app.openapi()["paths"]["/v1/brands/{brand_id}/indicators/{period}"]["put"]
    period = next(p for p in put["parameters"] if p["name"] == "period")
    pattern = re.compile(period["schema"]["pattern"])
    assert pattern.search("2024")
    assert pattern.search("2024-Q3")
    assert not pattern.search("1999")
    assert not pattern.search("0")


def test_patch_requires_if_match(registry_app: FastAPI) -> None:
    patch = registry_app.openapi()["paths"]["/v1/brands/{brand_id}"]["patch"]
    if_match = next(p for p in patch["parameters"] if p["name"] == "If-Match")
    assert if_match["required"] is True


def test_an_indicator_report_names_a_figure(registry_app: FastAPI) -> None:
    report = _schemas(registry_app)["IndicatorsIn"]
    validator = jsonschema_rs.validator_for(report)
    assert not validator.is_valid({"source": "统计局"})
    assert not validator.is_valid({"practitioners": None})
    assert validator.is_valid({"practitioners": 1})
    assert report["properties"]["practitioners"]["anyOf"][0]["minimum"] == 0


def test_an_industry_division_belongs_to_its_section(registry_app: FastAPI) -> None:
    validator = jsonschema_rs.validator_for(_schemas(registry_app)["IndustryIn"])
    assert validator.is_valid({"section": "A", "division": "04"})
    assert not validator.is_valid({"section": "A", "division": "15"})


class _Text(ApiModel):
    value: NfcText


SAMPLES = [
    "a",
    "安化",
    " a",
    "a ",
    "\ta\n",
    "a\tb",
    "a\x01",
    "\x0ba",
    "\u200b",
    "\u200ba",
    "\u3000",
    "a\u3000b",
    "\x85",
    "",
    "  ",
    "a\x7f",
    "\U000e0001",
    "x\U000e0001",
]


@pytest.mark.parametrize("sample", SAMPLES)
def test_text_pattern_is_what_nfc_text_accepts(sample: str) -> None:
    """A value matches the pattern exactly when the service stores it unchanged."""
    try:
        stored: str | None = _Text(value=sample).value
    except ValidationError:
        stored = None
    required = jsonschema_rs.validator_for({"type": "string", "pattern": TEXT_PATTERN})
    optional = jsonschema_rs.validator_for({"type": "string", "pattern": OPTIONAL_TEXT_PATTERN})
    assert required.is_valid(sample) == (stored == sample and sample != "")
    assert optional.is_valid(sample) == (stored == sample)
