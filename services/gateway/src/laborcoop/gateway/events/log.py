"""The gateway's event log: every event of every topic, once, in one order.

Webhook deliveries and the event stream read this table, not Kafka: a subscriber's position is a
row of the gateway's database, so a restart, a replica or a replay loses nothing and needs no
consumer group per subscriber. The consumer group ``gateway.events`` appends each event in the
transaction that records it in the inbox (exactly once, in order per subject).

Positions are taken from a sequence under a transaction-level advisory lock, so they become
visible in the order they were taken: a reader that has read up to position N never later finds a
row below N. That serialises the log's writers (one short INSERT each), which is what makes a
plain ``position > $cursor`` read safe. Each append notifies :data:`CHANNEL` with its position on
commit, so readers wake at once instead of polling.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final

import asyncpg

from laborcoop.common.consumer import Subscription
from laborcoop.common.db import Connection, Reader
from laborcoop.common.errors import Forbidden
from laborcoop.common.principal import Principal
from laborcoop.contracts import topics
from laborcoop.contracts.envelope import CloudEvent
from laborcoop.contracts.events import EventPayload, all_specs

GROUP: Final = "gateway.events"
CHANNEL: Final = "event_log"
"""The PostgreSQL notification channel; the payload is the new position."""

_WRITER_LOCK: Final = 0x6C61_626F_7265_766C  # 'laborevl': one writer of the log at a time


@dataclass(frozen=True, slots=True)
class LoggedEvent:
    position: int
    event_id: str
    type: str
    subject: str
    provinces: tuple[str, ...]
    time: datetime
    envelope: str


async def append(conn: Connection, event: CloudEvent, _payload: EventPayload) -> None:
    """Log ``event`` at the next position (in the consumer's transaction)."""
    await conn.execute("SELECT pg_advisory_xact_lock($1)", _WRITER_LOCK)
    position = await conn.fetchval(
        """INSERT INTO event_log (position, event_id, type, subject, provinces, time, envelope)
           VALUES (nextval('event_log_position'), $1, $2, $3, $4, $5, $6)
           ON CONFLICT (event_id) DO NOTHING
           RETURNING position""",
        event.id,
        event.type,
        event.subject,
        list(event.province_codes),
        event.time,
        event.to_json_bytes().decode(),
    )
    if position is not None:
        await conn.execute("SELECT pg_notify($1, $2)", CHANNEL, str(position))


SUBSCRIPTION: Final = Subscription(group=GROUP, topics=list(topics.ALL)).handle_each(
    [spec.payload for spec in all_specs()], append
)
"""Every published event type of every topic into the log; a type this build does not know is
skipped and counted, as by every consumer (a newer producer's type reaches subscribers once the
gateway is upgraded)."""


@dataclass(frozen=True, slots=True)
class Audience:
    """Which events a subscriber may receive: those concerning its province (the event's
    ``provinces`` include it), or every event for the ministry. Nothing else, whatever the
    subscriber's own filters say; observers receive no events (they see aggregates only)."""

    province: str | None
    everything: bool = False

    def admits(self, provinces: Sequence[str]) -> bool:
        return self.everything or (self.province is not None and self.province in provinces)


def audience_of(principal: Principal) -> Audience:
    """What ``principal`` may receive, on a subscription or a stream: every event for the
    ministry, its province's for a province's own system; anyone else is refused (403; a
    ministry or observer token that also names a province acts for none)."""
    if principal.is_ministry:
        return Audience(None, everything=True)
    if (province := principal.own_province) is not None:
        return Audience(province)
    raise Forbidden("events are for a province's own system or the ministry, not for observers")


def matches(event_type: str, patterns: Sequence[str]) -> bool:
    """True when ``event_type`` is one of ``patterns``: an exact type, or a prefix ending in
    ``*`` (``cn.laborcoop.placements.*``). No patterns: every type."""
    if not patterns:
        return True
    return any(
        event_type.startswith(p[:-1]) if p.endswith("*") else event_type == p for p in patterns
    )


def type_condition(patterns: Sequence[str]) -> tuple[list[str], list[str]]:
    """``patterns`` as the exact types and the prefixes :func:`read_after` filters by in SQL."""
    exact = [p for p in patterns if not p.endswith("*")]
    prefixes = [p[:-1] for p in patterns if p.endswith("*")]
    return exact, prefixes


_COLUMNS: Final = "position, event_id, type, subject, provinces, time, envelope"


async def read_after(
    conn: Reader,
    position: int,
    audience: Audience,
    *,
    patterns: Sequence[str] = (),
    limit: int = 500,
) -> list[LoggedEvent]:
    """The events after ``position`` that ``audience`` may receive and ``patterns`` select,
    oldest first, at most ``limit``."""
    exact, prefixes = type_condition(patterns)
    rows = await conn.fetch(
        f"""SELECT {_COLUMNS} FROM event_log
            WHERE position > $1
              AND ($2 OR provinces @> ARRAY[$3::text])
              AND ($4::text[] = '{{}}' AND $5::text[] = '{{}}'
                   OR type = ANY($4::text[])
                   OR EXISTS (SELECT 1 FROM unnest($5::text[]) AS p
                              WHERE starts_with(type, p)))
            ORDER BY position
            LIMIT $6""",
        position,
        audience.everything,
        audience.province,
        exact,
        prefixes,
        limit,
    )
    return [_logged(row) for row in rows]


async def position_of(conn: Reader, event_id: str) -> int | None:
    """The position of the event ``event_id``, if the log holds it."""
    position: int | None = await conn.fetchval(
        "SELECT position FROM event_log WHERE event_id = $1", event_id
    )
    return position


async def position_before(conn: Reader, time: datetime) -> int:
    """A position after which every event at or after ``time`` lies (0: from the first).

    The log is in arrival order and events of different partitions arrive in any order of their
    ``time``, so the cursor is before the first *position* holding such an event: the read after
    it may also yield a few older events (never fewer)."""
    position: int | None = await conn.fetchval(
        "SELECT min(position) FROM event_log WHERE time >= $1", time
    )
    return 0 if position is None else position - 1


async def head(conn: Reader) -> int:
    """The newest position (0 when the log is empty)."""
    position: int | None = await conn.fetchval("SELECT max(position) FROM event_log")
    return position or 0


def _logged(row: asyncpg.Record) -> LoggedEvent:
    return LoggedEvent(
        position=row["position"],
        event_id=row["event_id"],
        type=row["type"],
        subject=row["subject"],
        provinces=tuple(row["provinces"]),
        time=row["time"],
        envelope=row["envelope"],
    )


async def prune(conn: Connection, logged_before: datetime, *, batch: int = 10_000) -> int:
    """Delete events logged before ``logged_before``, oldest first, at most ``batch``; how many
    were deleted (the pruner repeats until none)."""
    deleted: int = await conn.fetchval(
        """WITH old AS (SELECT position FROM event_log
                        WHERE logged_at < $1 ORDER BY position LIMIT $2),
                gone AS (DELETE FROM event_log e USING old
                         WHERE e.position = old.position RETURNING 1)
           SELECT count(*) FROM gone""",
        logged_before,
        batch,
    )
    return deleted
