"""Optimistic concurrency: ``ETag`` carries an aggregate's version, ``If-Match`` checks it."""

import re
from typing import Annotated

from fastapi import Header, Response
from pydantic import BaseModel

from laborcoop.common.errors import InvalidInput, PreconditionFailed, PreconditionRequired

_ETAG = re.compile(r'^(?:W/)?"(\d+)"$')


def etag(version: int) -> str:
    return f'"{version}"'


def parse_if_match(value: str) -> int:
    match = _ETAG.match(value.strip())
    if not match:
        raise InvalidInput.field("If-Match", 'expected an ETag such as "3"', "etag")
    return int(match.group(1))


def check_version(if_match: str | None, current: int, *, required: bool = True) -> None:
    """412 when ``If-Match`` names another version; 428 when it is required and absent."""
    if if_match is None:
        if required:
            raise PreconditionRequired("send If-Match with the ETag of the version you changed")
        return
    expected = parse_if_match(if_match)
    if expected != current:
        raise PreconditionFailed(f"the resource is at version {current}, not {expected}")


IfMatch = Annotated[
    str | None,
    Header(alias="If-Match", description='The ETag of the version being changed, e.g. "3".'),
]


def versioned(body: BaseModel, *, version: int, location: str, status_code: int = 200) -> Response:
    """A resource's representation (JSON) with its ``ETag`` and ``Location``."""
    return Response(
        body.model_dump_json(),
        status_code=status_code,
        media_type="application/json",
        headers={"ETag": etag(version), "Location": location},
    )
