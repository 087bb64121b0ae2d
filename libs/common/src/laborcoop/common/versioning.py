"""Optimistic concurrency: ``ETag`` carries an aggregate's version, ``If-Match`` checks it.

``If-Match`` follows RFC 9110 §13.1.1: ``*`` matches any current version, a list matches when
any of its tags does, and the comparison is strong, so a weak tag (``W/"3"``) never matches.
"""

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any, Final

from fastapi import Depends, Header, Response
from pydantic import BaseModel, WithJsonSchema

from laborcoop.common.errors import (
    Forbidden,
    InvalidInput,
    PreconditionFailed,
    PreconditionRequired,
    Problem,
)

_ENTITY_TAG: Final = re.compile(r'\s*(W/)?"([\x21\x23-\x7e\x80-\xff]*)"\s*(?:,|$)')
_ANY: Final = "*"
_ETAG_PATTERN: Final = r'(?:W/)?"[\x21\x23-\x7E]*"'
IF_MATCH_PATTERN: Final = rf"^(?:\*|{_ETAG_PATTERN}(?:[ \t]*,[ \t]*{_ETAG_PATTERN})*)$"
"""What OpenAPI documents for ``If-Match``: ``*`` or a list of entity-tags (every value it
matches is understood; the parser also takes the optional whitespace RFC 9110 allows)."""
_IF_MATCH_SCHEMA: Final[dict[str, Any]] = {"type": "string", "pattern": IF_MATCH_PATTERN}
_IF_MATCH_DESCRIPTION: Final = (
    'The ETag of the version being changed, e.g. "3" (or `*` for any current version).'
)


def etag(version: int) -> str:
    return f'"{version}"'


def _entity_tags(value: str) -> list[tuple[bool, str]]:
    """``(weak, opaque)`` for each tag of a comma-separated ``If-Match`` list (422 if garbled)."""
    tags: list[tuple[bool, str]] = []
    position, end = 0, len(value)
    while position < end:
        match = _ENTITY_TAG.match(value, position)
        if match is None or match.end() == position:
            raise InvalidInput.field("If-Match", 'expected ETags such as "3"', "etag")
        tags.append((match.group(1) is not None, match.group(2)))
        position = match.end()
    if not tags:
        raise InvalidInput.field("If-Match", 'expected ETags such as "3"', "etag")
    return tags


def if_match_allows(value: str, current: int) -> bool:
    """Whether ``If-Match: value`` is satisfied by version ``current`` (strong comparison)."""
    if value.strip() == _ANY:
        return True
    wanted = etag(current)[1:-1]
    return any(not weak and opaque == wanted for weak, opaque in _entity_tags(value))


def check_version(if_match: str | None, current: int, *, required: bool = True) -> None:
    """412 when ``If-Match`` names no current version; 428 when it is required and absent."""
    if if_match is None:
        if required:
            raise PreconditionRequired("send If-Match with the ETag of the version you changed")
        return
    if not if_match_allows(if_match, current):
        raise PreconditionFailed(f'the resource is at version {current} (ETag "{current}")')


@contextmanager
def precondition(if_match: str | None, loaded: int, *, required: bool = False) -> Iterator[None]:
    """Check ``If-Match`` against the ``loaded`` version once the aggregate's command has run.

    The command checks who may act first, so its 403 comes before any 428/412. A caller who may
    act but read a stale version gets 412 even when the command also refused the state (409) or
    the input (422): what it saw is out of date, and that is what it must learn first. The
    command changes the aggregate only in memory; when this raises, nothing is saved::

        brand = await self.brands.load(uow, brand_id)
        with precondition(if_match, brand.version):
            brand.retire(principal, reason, self.clock())
        self.brands.save(uow, brand)
    """
    try:
        yield
    except Forbidden:
        raise
    except Problem:
        check_version(if_match, loaded, required=required)
        raise
    check_version(if_match, loaded, required=required)


IfMatch = Annotated[
    str | None,
    Header(alias="If-Match", description=_IF_MATCH_DESCRIPTION),
    # Optional, but never null: a client omits the header rather than sending "null".
    WithJsonSchema(_IF_MATCH_SCHEMA),
]
"""An optional ``If-Match`` (default ``None``); pass it to :func:`check_version`."""


async def required_if_match(
    if_match: Annotated[str | None, Header(alias="If-Match", include_in_schema=False)] = None,
) -> str | None:
    """The ``If-Match`` of a route that needs one. Absent, it is ``None`` here, and the use case
    answers 428 through ``check_version(..., required=True)`` only after its 404 and 403 checks:
    a caller who may not act is told so whatever it sent."""
    return if_match


RequiredIfMatch = Annotated[str | None, Depends(required_if_match)]
"""A required ``If-Match``: ``required: true`` in OpenAPI (the app factory documents it on every
route that depends on it, see :data:`REQUIRED_IF_MATCH_PARAMETER`); at run time ``None`` when
absent, so the use case decides when to answer 428 (after 404 and 403)."""

REQUIRED_IF_MATCH_PARAMETER: Final[dict[str, Any]] = {
    "name": "If-Match",
    "in": "header",
    "required": True,
    "schema": _IF_MATCH_SCHEMA,
    "description": _IF_MATCH_DESCRIPTION,
}


def versioned(body: BaseModel, *, version: int, location: str, status_code: int = 200) -> Response:
    """A resource's representation (JSON) with its ``ETag`` and ``Location``."""
    return Response(
        body.model_dump_json(),
        status_code=status_code,
        media_type="application/json",
        headers={"ETag": etag(version), "Location": location},
    )
