"""Bodies of forwarded requests, described for the gateway's OpenAPI document only.

The gateway forwards a forwarded route's body byte for byte: the owning service validates it and
its document is authoritative. Services do not import each other, so the gateway describes the
body from the shared code lists and schema fragments instead (until the body model itself is
shared); ``tests/e2e/test_gateway_edges.py`` compares the schema with the registry's document, so
the two cannot drift apart unnoticed.
"""

from typing import Annotated, Any

from pydantic import ConfigDict, Field

from laborcoop.common.inputs import ApiModel, NfcText
from laborcoop.contracts.codes import (
    BrandCategory,
    BrandOwnership,
    DevelopmentStage,
    OccupationCode,
)
from laborcoop.contracts.openapi import OPTIONAL_TEXT_PATTERN, TEXT_PATTERN, IndustryIn
from laborcoop.contracts.provinces import ProvinceCode

_TEXT = {"pattern": TEXT_PATTERN}
_OPTIONAL_TEXT = {"pattern": OPTIONAL_TEXT_PATTERN}

_EXAMPLE_BRAND: dict[str, Any] = {
    "name": "安化黑茶茶艺师",
    "province": "430000",
    "city_code": "430923",
    "category": "culture_tourism",
    "ownership": "regional_public",
    "occupations": ["4-03-02-09"],
    "industry": {"section": "C", "division": "15"},
    "description": "安化黑茶制茶与茶艺从业者",
    "operator": "安化县人力资源和社会保障局",
    "development_stage": "expansion",
}


class BrandRegistration(ApiModel):
    """A brand to register (validated by the registry). Only ``name``, ``province`` and
    ``category`` are required; the calling province must be ``province``."""

    model_config = ConfigDict(json_schema_extra={"examples": [_EXAMPLE_BRAND]})

    name: Annotated[
        NfcText,
        Field(min_length=2, max_length=64, examples=["安化黑茶茶艺师"], json_schema_extra=_TEXT),
    ]
    province: ProvinceCode = Field(examples=["430000"])
    city_code: Annotated[str, Field(pattern=r"^\d{6}$", examples=["430923"])] | None = None
    category: BrandCategory
    ownership: BrandOwnership | None = None
    occupations: list[OccupationCode] = Field(
        default_factory=list,
        max_length=20,
        examples=[["4-10-01-01"]],
        json_schema_extra={"uniqueItems": True},
    )
    industry: IndustryIn | None = None
    description: (
        Annotated[NfcText, Field(max_length=2000, json_schema_extra=_OPTIONAL_TEXT)] | None
    ) = None
    operator: (
        Annotated[
            NfcText,
            Field(min_length=2, max_length=128, examples=["安化县人社局"], json_schema_extra=_TEXT),
        ]
        | None
    ) = None
    development_stage: DevelopmentStage | None = None


def request_body(model: type[ApiModel]) -> dict[str, Any]:
    """``openapi_extra`` declaring ``model`` as a route's required JSON body without FastAPI
    reading the body (the gateway forwards the bytes it received). The schema is self-contained:
    ``$defs`` are inlined because the route's models are not in the document's components."""
    schema = model.model_json_schema()
    definitions: dict[str, Any] = schema.pop("$defs", {})
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": _inlined(schema, definitions)}},
        }
    }


def _inlined(node: Any, definitions: dict[str, Any]) -> Any:
    if isinstance(node, list):
        return [_inlined(item, definitions) for item in node]
    if not isinstance(node, dict):
        return node
    ref = node.get("$ref")
    if not (isinstance(ref, str) and ref.startswith("#/$defs/")):
        return {key: _inlined(value, definitions) for key, value in node.items()}
    target = _inlined(definitions[ref.removeprefix("#/$defs/")], definitions)
    siblings = {key: _inlined(value, definitions) for key, value in node.items() if key != "$ref"}
    return {**target, **siblings}
