"""What a stream carries and where it starts, from the caller's token and the request (pure but
for the reads of the log that place the start).

- **Who**: a province's own system (role ``province``) receives the events of its province, the
  ministry every event; anyone else is refused (403), observers included: they see aggregates
  only. The :class:`~laborcoop.gateway.events.log.Audience` is the same as the webhooks'.
- **types**: exact event types or prefixes ending in ``*`` (``cn.laborcoop.placements.*``),
  repeated or comma-separated. Each is checked: an exact type this gateway does not know, a
  ``*`` anywhere but at the end, or a prefix that no known type starts with is a 422 naming
  ``types`` (a typo would otherwise be a stream that stays silent for ever).
- **provinces**: only narrows. The ministry may name any provinces (events concerning at least
  one of them); a province may name only itself: naming another is a 403, as asking to see
  another province's events is.
- **Start**: right after the event named by ``Last-Event-ID`` (the stream resumes; an id the log
  does not hold, or of an event the caller may not receive, is a 422 naming ``Last-Event-ID``,
  never a silent restart from the beginning); else the first position at or after ``since``;
  else the log's head (only new events). ``Last-Event-ID`` wins over ``since``: a client that
  reconnects repeats its URL, ``since`` included, and adds the header.
"""

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Final

from pydantic import AfterValidator, BeforeValidator

from laborcoop.common.db import Reader
from laborcoop.common.principal import Principal
from laborcoop.common.problems import FieldError, Forbidden, InvalidInput
from laborcoop.contracts.events import all_specs
from laborcoop.contracts.provinces import is_province_code
from laborcoop.gateway.events import log
from laborcoop.gateway.events.log import Audience, audience_of

WILDCARD: Final = "*"
LAST_EVENT_ID: Final = "Last-Event-ID"

_RFC_3339: Final = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$"
)


def _rfc_3339(value: Any) -> Any:
    if isinstance(value, str) and _RFC_3339.match(value):
        return value
    raise ValueError("must be an RFC 3339 date-time with an offset, e.g. 2025-03-01T08:00:00Z")


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None:  # the pattern requires an offset; kept for a datetime given as is
        raise ValueError("must carry an offset")
    return value


Rfc3339Time = Annotated[datetime, BeforeValidator(_rfc_3339), AfterValidator(_aware)]
"""An instant written as RFC 3339 has it: date, time and offset (no bare dates, no numbers)."""


@dataclass(frozen=True, slots=True)
class Selection:
    """What one stream carries: ``audience`` (who may receive what), narrowed to ``types``
    (none: every type) and to events concerning one of ``provinces`` (none: no narrowing)."""

    audience: Audience
    types: tuple[str, ...] = ()
    provinces: frozenset[str] = frozenset()

    def narrows_to(self, event_provinces: Sequence[str]) -> bool:
        return not self.provinces or any(p in self.provinces for p in event_provinces)


def split(values: Sequence[str] | None) -> list[str]:
    """A repeated or comma-separated query parameter as its items (blanks dropped)."""
    return [item.strip() for value in values or () for item in value.split(",") if item.strip()]


def type_patterns(values: Sequence[str] | None) -> tuple[str, ...]:
    """The ``types`` parameter checked against the event types this gateway knows."""
    patterns = split(values)
    known = [spec.type for spec in all_specs()]
    errors = [
        FieldError(field="types", message=problem, code="unknown_type")
        for pattern in patterns
        if (problem := _pattern_problem(pattern, known)) is not None
    ]
    if errors:
        raise InvalidInput(errors)
    return tuple(dict.fromkeys(patterns))


def _pattern_problem(pattern: str, known: Sequence[str]) -> str | None:
    prefix, wildcard = (pattern[:-1], True) if pattern.endswith(WILDCARD) else (pattern, False)
    if WILDCARD in prefix:
        return f"{pattern!r}: a wildcard may only end a pattern (cn.laborcoop.placements.*)"
    if wildcard and not any(t.startswith(prefix) for t in known):
        return f"{pattern!r}: no event type starts with {prefix!r}"
    if not wildcard and pattern not in known:
        return f"{pattern!r} is not an event type (see the event catalogue)"
    return None


def province_filter(values: Sequence[str] | None, audience: Audience) -> frozenset[str]:
    """The ``provinces`` parameter: codes of this system; a province may name only itself."""
    codes = split(values)
    unknown = [code for code in codes if not is_province_code(code)]
    if unknown:
        raise InvalidInput.field("provinces", f"not province codes of this system: {unknown}")
    if not audience.everything and any(code != audience.province for code in codes):
        raise Forbidden(
            "a province's stream carries its own province's events only: `provinces` may "
            f"name {audience.province} alone"
        )
    return frozenset(codes)


def selection(
    principal: Principal, types: Sequence[str] | None, provinces: Sequence[str] | None
) -> Selection:
    audience = audience_of(principal)
    return Selection(audience, type_patterns(types), province_filter(provinces, audience))


async def start_position(
    conn: Reader, audience: Audience, *, last_event_id: str | None, since: datetime | None
) -> int:
    """The position the stream reads after (see the module docstring)."""
    if last_event_id is not None:
        return await _after_event(conn, audience, last_event_id)
    if since is not None:
        return await log.position_before(conn, since)
    return await log.head(conn)


async def _after_event(conn: Reader, audience: Audience, event_id: str) -> int:
    """The position of ``event_id``, when the log holds it and ``audience`` may receive it (an
    event of another province is as unknown as one that never was: its id tells nothing)."""
    row = await conn.fetchrow(
        "SELECT position, provinces FROM event_log WHERE event_id = $1", event_id
    )
    if row is None or not audience.admits(row["provinces"]):
        raise InvalidInput.field(
            LAST_EVENT_ID,
            "no event with this id that this stream could have sent: reconnect without it "
            "(from now) or with `since` (from a time)",
            code="unknown_event",
        )
    position: int = row["position"]
    return position
