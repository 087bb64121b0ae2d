"""Cursor pagination: an opaque, URL-safe cursor naming where the next page starts."""

import base64
import binascii
import json
from collections.abc import Callable
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel

from laborcoop.common.errors import InvalidInput

T = TypeVar("T")

MAX_LIMIT = 200

Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Page size (at most 200)")]
Cursor = Annotated[str | None, Query(description="`next_cursor` of the previous page")]


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


def encode_cursor(position: dict[str, Any]) -> str:
    raw = json.dumps(position, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> dict[str, Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        position = json.loads(base64.urlsafe_b64decode(padded))
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


def cursor_value(cursor: str | None, key: str) -> Any:
    """The ``key`` of a cursor's position, or None without a cursor."""
    if cursor is None:
        return None
    position = decode_cursor(cursor)
    if key not in position:
        raise InvalidInput.field("cursor", "not a cursor of this list")
    return position[key]
