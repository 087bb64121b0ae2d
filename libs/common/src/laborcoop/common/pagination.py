"""Cursor pagination: an opaque, URL-safe cursor naming where the next page starts."""

import base64
import binascii
import json
from collections.abc import Callable
from typing import Annotated, Any, Generic, TypeVar
from uuid import UUID

from fastapi import Query
from pydantic import BaseModel, WithJsonSchema

from laborcoop.common.errors import InvalidInput
from laborcoop.common.inputs import decode_json

T = TypeVar("T")

MAX_LIMIT = 200
MAX_CURSOR_LENGTH = 512
"""Far above any cursor this API writes (a position is one id or version), and a bound on what
an untrusted cursor costs to decode."""
_CURSOR_DEPTH = 2

Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Page size (at most 200)")]
Cursor = Annotated[
    str | None,
    Query(max_length=MAX_CURSOR_LENGTH, description="`next_cursor` of the previous page"),
    # Optional, but never null: a client omits the parameter rather than sending "null".
    WithJsonSchema({"type": "string", "maxLength": MAX_CURSOR_LENGTH}),
]


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


def encode_cursor(position: dict[str, Any]) -> str:
    raw = json.dumps(position, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> dict[str, Any]:
    """The position a cursor names; anything else (too long, too deep, not JSON) is a 422."""
    if len(cursor) > MAX_CURSOR_LENGTH:
        raise InvalidInput.field("cursor", "not a cursor returned by this API", "too_long")
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        raw = base64.urlsafe_b64decode(padded)
        position = decode_json(raw, field="cursor", max_depth=_CURSOR_DEPTH)
    except (binascii.Error, ValueError) as exc:
        raise InvalidInput.field("cursor", "not a cursor returned by this API") from exc
    if not isinstance(position, dict):
        raise InvalidInput.field("cursor", "not a cursor returned by this API")
    return position


def page_of(items: list[T], limit: int, position: Callable[[T], dict[str, Any]]) -> Page[T]:
    """The first ``limit`` of ``items`` (fetched with ``limit + 1``) and the cursor after them."""
    if len(items) <= limit:
        return Page(items=items)
    kept = items[:limit]
    return Page(items=kept, next_cursor=encode_cursor(position(kept[-1])))


def _position_value(cursor: str, key: str) -> Any:
    value = decode_cursor(cursor).get(key)
    if value is None or isinstance(value, bool):
        raise InvalidInput.field("cursor", "not a cursor of this list")
    return value


def cursor_id(cursor: str | None) -> UUID | None:
    """The id after which a list keyed by UUIDs continues."""
    if cursor is None:
        return None
    value = _position_value(cursor, "id")
    try:
        return UUID(str(value))
    except ValueError as exc:
        raise InvalidInput.field("cursor", "not a cursor of this list") from exc


def cursor_version(cursor: str | None) -> int:
    """The version after which a history continues (0 without a cursor)."""
    if cursor is None:
        return 0
    value = _position_value(cursor, "version")
    if not isinstance(value, int) or not 0 <= value <= _MAX_VERSION:
        raise InvalidInput.field("cursor", "not a cursor of this list")
    return value


_MAX_VERSION = 2**31 - 1
