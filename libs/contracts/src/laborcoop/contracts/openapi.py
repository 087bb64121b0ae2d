"""JSON Schema fragments that let the services' OpenAPI documents say what the services check.

A client generated from a document must be able to send only what the service accepts; where a
check is code (a validator), the document needs its equivalent here.

Text: the APIs store text that a person can read: no control characters but tab, line feed and
carriage return, and at least one visible character (not a control, format or space character).
Request bodies are stripped of surrounding white space before they are checked, so the documents
describe text without it: what a generated client sends is then exactly what is stored and
counted against ``minLength``/``maxLength``. Query parameters are not stripped
(:data:`QUERY_TEXT_PATTERN`). The patterns use only ``\\xHH``/``\\uHHHH`` escapes and literal
characters, which Python's ``re``, ECMAScript and Rust's regex engines all read alike.
"""

from collections.abc import Callable
from typing import Any, Final

from pydantic import ConfigDict, WithJsonSchema

from laborcoop.contracts.codes import INDUSTRY_SECTIONS, Industry

_WHITE_SPACE: Final = (
    "\\t\\n\\x0b\\x0c\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029"
    "\\u202f\\u205f\\u3000"
)
"""Unicode white space (``str.isspace``): what stripping removes."""

_BAD_CONTROLS: Final = "\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f-\\x9f"
"""Control characters (Cc) other than tab, line feed and carriage return."""

_FORMAT: Final = (
    "\\xad\\u0600-\\u0605\\u061c\\u06dd\\u070f\\u0890\\u0891\\u08e2\\u180e\\u200b-\\u200f"
    "\\u202a-\\u202e\\u2060-\\u2064\\u2066-\\u206f\\ufeff\\ufff9-\\ufffb"
    "\U000110bd\U000110cd\U00013430-\U00013438\U0001bca0-\U0001bca3\U0001d173-\U0001d17a"
    "\U000e0001\U000e0020-\U000e007f"
)
"""Format characters (Cf, Unicode 14): invisible, so text of only these is refused."""

_ANY: Final = f"[^{_BAD_CONTROLS}]"
_FORMAT_ONLY: Final = f"[{_FORMAT}]"
_VISIBLE: Final = f"[^{_WHITE_SPACE}{_BAD_CONTROLS}{_FORMAT}]"
_NOT_SPACE: Final = f"[^{_WHITE_SPACE}{_BAD_CONTROLS}]"

_STRIPPED: Final = (
    f"(?:{_FORMAT_ONLY}*{_VISIBLE}|{_NOT_SPACE}{_ANY}*{_VISIBLE})(?:{_ANY}*{_NOT_SPACE})?"
)

TEXT_PATTERN: Final = f"^{_STRIPPED}$"
"""Text of a request body: visible, no stray controls, no white space around it."""

OPTIONAL_TEXT_PATTERN: Final = f"^(?:{_STRIPPED})?$"
"""Like :data:`TEXT_PATTERN`, or empty (for fields without a minimum length)."""

QUERY_TEXT_PATTERN: Final = f"^{_ANY}*{_VISIBLE}{_ANY}*$"
"""Text of a query parameter, taken as sent: at least one visible character, no controls."""


def at_least_one_of(*fields: str) -> Callable[[dict[str, Any]], None]:
    """``json_schema_extra`` of a model that needs one of ``fields`` present and not null: an
    ``anyOf`` with one branch per field, requiring it with its own non-null schema."""

    def extra(schema: dict[str, Any]) -> None:
        properties: dict[str, Any] = schema["properties"]
        schema["anyOf"] = [
            {"required": [name], "properties": {name: _not_null(properties[name])}}
            for name in fields
        ]

    return extra


def exactly_one_of(*fields: str) -> Callable[[dict[str, Any]], None]:
    """``json_schema_extra`` of a model that needs exactly one of ``fields``, present and not
    null: their schemas without the ``null`` branch, and a ``oneOf`` with one branch per field
    requiring it and none of the others."""

    def extra(schema: dict[str, Any]) -> None:
        never_null(*fields)(schema)
        schema["oneOf"] = [
            {
                "required": [name],
                "not": {"anyOf": [{"required": [other]} for other in fields if other != name]},
            }
            for name in fields
        ]

    return extra


def never_null(*fields: str) -> Callable[[dict[str, Any]], None]:
    """``json_schema_extra`` of a patch whose ``fields`` may be absent but not null: their
    schemas without the ``null`` branch (the model refuses null for them)."""

    def extra(schema: dict[str, Any]) -> None:
        properties: dict[str, Any] = schema["properties"]
        for name in fields:
            properties[name] = _not_null(properties[name])

    return extra


def _not_null(schema: dict[str, Any]) -> dict[str, Any]:
    branches = [b for b in schema.get("anyOf", [schema]) if b.get("type") != "null"]
    return branches[0] if len(branches) == 1 else {"anyOf": branches}


def whole_number(minimum: int, maximum: int, description: str | None = None) -> WithJsonSchema:
    """The JSON Schema of a bounded ``WholeNumber`` (laborcoop.common.inputs): its bounds written
    after the number's own validator would otherwise be rendered as the unknown keywords
    ``ge``/``le``, and a generated client would send numbers out of range."""
    schema: dict[str, Any] = {"type": "integer", "minimum": minimum, "maximum": maximum}
    if description is not None:
        schema["description"] = description
    return WithJsonSchema(schema)


def _industry_schema(schema: dict[str, Any]) -> None:
    """Each section with the divisions it has, so that a generated client sends no division of
    another section (the check of :class:`~laborcoop.contracts.codes.Industry`)."""
    schema["anyOf"] = [
        {
            "properties": {
                "section": {"const": section},
                "division": {"enum": [f"{d:02d}" for d in range(low, high + 1)]},
            }
        }
        for section, (low, high) in INDUSTRY_SECTIONS.items()
    ]


# One model for the registry's own body and the gateway's description of it.
class IndustryIn(Industry):
    """An industry in a request: unknown fields are refused, as everywhere in the API."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_industry_schema)
