"""The SQL of subscriptions and their deliveries."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final, Literal, get_args
from uuid import UUID

import asyncpg

from laborcoop.common.db import Connection, Reader
from laborcoop.gateway.events.log import Audience, type_condition

SubscriptionStatus = Literal["active", "paused", "disabled"]
STATUSES: Final[tuple[SubscriptionStatus, ...]] = get_args(SubscriptionStatus)


@dataclass(frozen=True, slots=True)
class Subscription:
    id: UUID
    client_id: str
    province: str | None
    everything: bool
    url: str
    types: tuple[str, ...]
    provinces: tuple[str, ...]
    status: str
    disabled_reason: str | None
    secret: str
    """Sealed (:class:`~laborcoop.gateway.subscriptions.secrets.SecretBox`)."""
    previous_secret: str | None
    previous_secret_until: datetime | None
    log_cursor: int
    failing_since: datetime | None
    version: int
    created_at: datetime
    updated_at: datetime

    @property
    def audience(self) -> Audience:
        return Audience(self.province, everything=self.everything)


_COLUMNS: Final = """id, client_id, province, everything, url, types, provinces, status,
    disabled_reason, secret, previous_secret, previous_secret_until, log_cursor, failing_since,
    version, created_at, updated_at"""


def _subscription(row: asyncpg.Record) -> Subscription:
    values = dict(row)
    values["types"] = tuple(values["types"])
    values["provinces"] = tuple(values["provinces"])
    return Subscription(**values)


INSERT: Final = f"""INSERT INTO subscriptions ({_COLUMNS})
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)"""


def insert_args(s: Subscription) -> tuple[Any, ...]:
    return (
        s.id,
        s.client_id,
        s.province,
        s.everything,
        s.url,
        list(s.types),
        list(s.provinces),
        s.status,
        s.disabled_reason,
        s.secret,
        s.previous_secret,
        s.previous_secret_until,
        s.log_cursor,
        s.failing_since,
        s.version,
        s.created_at,
        s.updated_at,
    )


UPDATE: Final = """UPDATE subscriptions SET url = $2, types = $3, provinces = $4, status = $5,
    disabled_reason = $6, secret = $7, previous_secret = $8, previous_secret_until = $9,
    log_cursor = $10, failing_since = $11, version = $12, updated_at = $13 WHERE id = $1"""


def update_args(s: Subscription) -> tuple[Any, ...]:
    return (
        s.id,
        s.url,
        list(s.types),
        list(s.provinces),
        s.status,
        s.disabled_reason,
        s.secret,
        s.previous_secret,
        s.previous_secret_until,
        s.log_cursor,
        s.failing_since,
        s.version,
        s.updated_at,
    )


async def owned(
    conn: Reader, client_id: str, subscription_id: UUID, *, lock: bool = False
) -> Subscription | None:
    row = await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM subscriptions WHERE id = $1 AND client_id = $2"
        + (" FOR UPDATE" if lock else ""),
        subscription_id,
        client_id,
    )
    return None if row is None else _subscription(row)


async def of_client(
    conn: Reader, client_id: str, *, after: UUID | None, limit: int
) -> list[Subscription]:
    rows = await conn.fetch(
        f"""SELECT {_COLUMNS} FROM subscriptions
            WHERE client_id = $1 AND ($2::uuid IS NULL OR id > $2)
            ORDER BY id LIMIT $3""",
        client_id,
        after,
        limit,
    )
    return [_subscription(r) for r in rows]


@dataclass(frozen=True, slots=True)
class Sealed:
    """A subscription's sealed secrets."""

    id: UUID
    secret: str
    previous_secret: str | None


async def sealed_page(conn: Connection, after: UUID | None, limit: int) -> list[Sealed]:
    """The sealed secrets of up to ``limit`` subscriptions after ``after`` in id order, locked
    (a rotation of one of them waits for the transaction)."""
    rows = await conn.fetch(
        """SELECT id, secret, previous_secret FROM subscriptions
           WHERE $1::uuid IS NULL OR id > $1 ORDER BY id LIMIT $2 FOR UPDATE""",
        after,
        limit,
    )
    return [Sealed(**dict(r)) for r in rows]


async def set_sealed(conn: Connection, sealed: Sealed) -> None:
    """The same secrets, sealed anew (the subscription does not change: no new version)."""
    await conn.execute(
        "UPDATE subscriptions SET secret = $2, previous_secret = $3 WHERE id = $1",
        sealed.id,
        sealed.secret,
        sealed.previous_secret,
    )


async def load(conn: Reader, subscription_id: UUID, *, lock: bool = False) -> Subscription | None:
    row = await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM subscriptions WHERE id = $1"
        + (" FOR UPDATE SKIP LOCKED" if lock else ""),
        subscription_id,
    )
    return None if row is None else _subscription(row)


# -- fan-out ------------------------------------------------------------------------------------


async def behind(conn: Reader, head: int) -> list[UUID]:
    """Subscriptions (not disabled) whose fan-out has not reached ``head``."""
    rows = await conn.fetch(
        "SELECT id FROM subscriptions WHERE status <> 'disabled' AND log_cursor < $1 ORDER BY id",
        head,
    )
    return [r["id"] for r in rows]


_SELECTED: Final = """
    ($1 OR l.provinces @> ARRAY[$2::text])
    AND ($3::text[] = '{}' AND $4::text[] = '{}'
         OR l.type = ANY($3::text[])
         OR EXISTS (SELECT 1 FROM unnest($4::text[]) AS p WHERE starts_with(l.type, p)))
    AND (cardinality($5::text[]) = 0 OR l.provinces && $5::text[])"""
"""The events of the log ``l`` a subscription's audience ($1, $2) and filters ($3..$5) select."""


def _selection(s: Subscription) -> tuple[Any, ...]:
    exact, prefixes = type_condition(s.types)
    return (s.everything, s.province, exact, prefixes, list(s.provinces))


async def fan_out(conn: Connection, s: Subscription, head: int, limit: int, now: datetime) -> int:
    """Deliveries for the events after the subscription's cursor up to ``head`` (at most
    ``limit`` log positions at a time) that it selects; the cursor moves past them. Returns
    how many deliveries were made."""
    until = min(head, s.log_cursor + limit)
    made: str = await conn.execute(
        f"""INSERT INTO webhook_deliveries (subscription_id, position, event_id, subject,
                                            next_attempt_at)
            SELECT $6, l.position, l.event_id, l.subject, $9 FROM event_log l
            WHERE l.position > $7 AND l.position <= $8 AND {_SELECTED}
            ORDER BY l.position""",
        *_selection(s),
        s.id,
        s.log_cursor,
        until,
        now,
    )
    await conn.execute("UPDATE subscriptions SET log_cursor = $2 WHERE id = $1", s.id, until)
    return int(made.rsplit(maxsplit=1)[-1])


async def replay(conn: Connection, s: Subscription, after: int, now: datetime) -> int:
    """New deliveries of every event after ``after`` that the subscription selects, up to what
    the fan-out has reached (it delivers the rest anyway)."""
    made: str = await conn.execute(
        f"""INSERT INTO webhook_deliveries (subscription_id, position, event_id, subject,
                                            next_attempt_at, replay)
            SELECT $6, l.position, l.event_id, l.subject, $8, true FROM event_log l
            WHERE l.position > $7 AND l.position <= (SELECT log_cursor FROM subscriptions
                                                     WHERE id = $6) AND {_SELECTED}
            ORDER BY l.position""",
        *_selection(s),
        s.id,
        after,
        now,
    )
    return int(made.rsplit(maxsplit=1)[-1])


# -- sending ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Claimed:
    id: int
    subscription_id: UUID
    event_id: str
    attempt: int
    url: str
    secret: str
    previous_secret: str | None
    previous_secret_until: datetime | None
    envelope: str | None
    """None when the event was pruned from the log (by age) before it could be delivered."""


async def claim(
    conn: Connection,
    claim_id: UUID,
    now: datetime,
    lease: timedelta,
    limit: int,
    per_subscription: int,
) -> list[Claimed]:
    """Up to ``limit`` due deliveries of active subscriptions, each the oldest pending one of its
    subscription and subject; each is leased (due again only after ``lease``) to ``claim_id``.
    A subscription gets no more than ``per_subscription`` attempts at once, counting the rows
    already leased (by any process) whose lease is running. ``SKIP LOCKED``: replicas claiming
    at once take different rows, and the rows another replica has just taken are among the
    ``per_subscription`` first of their subscription, so the cap holds across replicas too.
    Among rows due at once the oldest events come first, so the subscriptions of one fan-out
    pass are served side by side (not one receiver's whole share, then the next's)."""
    rows = await conn.fetch(
        """WITH in_flight AS (
               SELECT subscription_id, count(*) AS n FROM webhook_deliveries
               WHERE state = 'pending' AND claim IS NOT NULL AND next_attempt_at > $1
               GROUP BY subscription_id),
           candidate AS (
               SELECT c.id FROM subscriptions s
               LEFT JOIN in_flight f ON f.subscription_id = s.id
               CROSS JOIN LATERAL (
                   SELECT d.id FROM webhook_deliveries d
                   WHERE d.subscription_id = s.id AND d.state = 'pending'
                     AND d.next_attempt_at <= $1
                     AND NOT EXISTS (SELECT 1 FROM webhook_deliveries e
                                     WHERE e.subscription_id = d.subscription_id
                                       AND e.subject = d.subject AND e.state = 'pending'
                                       AND e.id < d.id)
                   ORDER BY d.next_attempt_at, d.position, d.id
                   LIMIT greatest($5 - coalesce(f.n, 0), 0)) c
               WHERE s.status = 'active'),
           due AS (
               SELECT d.id FROM webhook_deliveries d
               WHERE d.id IN (SELECT id FROM candidate)
                 AND d.state = 'pending' AND d.next_attempt_at <= $1
               ORDER BY d.next_attempt_at, d.position, d.id
               LIMIT $4
               FOR UPDATE SKIP LOCKED)
           UPDATE webhook_deliveries d
           SET next_attempt_at = $1 + $3::interval, attempts = d.attempts + 1, claim = $2
           FROM due, subscriptions s
           WHERE d.id = due.id AND s.id = d.subscription_id
           RETURNING d.id, d.subscription_id, d.event_id, d.attempts AS attempt, s.url,
                     s.secret, s.previous_secret, s.previous_secret_until,
                     (SELECT l.envelope FROM event_log l WHERE l.position = d.position)
                       AS envelope""",
        now,
        claim_id,
        lease,
        limit,
        per_subscription,
    )
    return [Claimed(**dict(r)) for r in rows]


async def next_due(conn: Reader) -> datetime | None:
    """When the earliest pending delivery falls due (a lease's end included)."""
    due: datetime | None = await conn.fetchval(
        "SELECT min(next_attempt_at) FROM webhook_deliveries WHERE state = 'pending'"
    )
    return due


@dataclass(frozen=True, slots=True)
class Outcome:
    delivery_id: int
    claim: UUID
    """The claim the attempt was made under."""
    state: str
    """``pending`` (retry at ``next_attempt_at``), ``delivered`` or ``failed`` (given up)."""
    next_attempt_at: datetime
    status: int | None
    latency_ms: int
    error: str | None


async def record(conn: Connection, at: datetime, outcomes: Sequence[Outcome]) -> None:
    """The outcomes of attempts, each on its row if the row is still under the attempt's claim
    (a row re-claimed since, after its lease ran out, is left to its new claim), and each such
    attempt in the row's attempt history."""
    await conn.execute(
        """WITH recorded AS (
               UPDATE webhook_deliveries d
               SET state = o.state, next_attempt_at = o.next_at,
                   last_attempt_at = $1::timestamptz, last_status = o.status,
                   last_latency_ms = o.latency, last_error = o.error,
                   delivered_at = CASE WHEN o.state = 'delivered' THEN $1::timestamptz END,
                   claim = NULL
               FROM unnest($2::bigint[], $3::uuid[], $4::text[], $5::timestamptz[], $6::int[],
                           $7::int[], $8::text[])
                    AS o(id, claim, state, next_at, status, latency, error)
               WHERE d.id = o.id AND d.claim = o.claim
               RETURNING d.id, d.attempts, o.status, o.latency, o.error)
           INSERT INTO webhook_attempts (delivery_id, attempt, at, status, latency_ms, error)
           SELECT id, attempts, $1::timestamptz, status, latency, error FROM recorded
           ON CONFLICT DO NOTHING""",
        at,
        [o.delivery_id for o in outcomes],
        [o.claim for o in outcomes],
        [o.state for o in outcomes],
        [o.next_attempt_at for o in outcomes],
        [o.status for o in outcomes],
        [o.latency_ms for o in outcomes],
        [o.error for o in outcomes],
    )


async def mark_succeeding(conn: Connection, subscription_ids: Sequence[UUID]) -> None:
    await conn.execute(
        """UPDATE subscriptions SET failing_since = NULL
           WHERE id = ANY($1::uuid[]) AND failing_since IS NOT NULL""",
        list(subscription_ids),
    )


async def mark_failing(
    conn: Connection, subscription_ids: Sequence[UUID], now: datetime
) -> list[Subscription]:
    """Subscriptions that failed now: failing since now unless already; returns them."""
    rows = await conn.fetch(
        f"""UPDATE subscriptions SET failing_since = coalesce(failing_since, $2)
            WHERE id = ANY($1::uuid[]) RETURNING {_COLUMNS}""",
        list(subscription_ids),
        now,
    )
    return [_subscription(r) for r in rows]


# -- what the metrics read ----------------------------------------------------------------------


async def backlog_by_owner(conn: Reader, ministry: str) -> list[asyncpg.Record]:
    """Per owner (a province, or ``ministry`` for a subscription to every event): the deliveries
    waiting for active subscriptions (``pending``) and the age of the oldest in seconds."""
    return await conn.fetch(
        """SELECT coalesce(s.province, $1) AS owner, count(*) AS pending,
                  extract(epoch FROM now() - min(d.created_at)) AS age
           FROM webhook_deliveries d JOIN subscriptions s ON s.id = d.subscription_id
           WHERE d.state = 'pending' AND s.status = 'active'
           GROUP BY 1""",
        ministry,
    )


async def count_by_status(conn: Reader) -> dict[str, int]:
    rows = await conn.fetch("SELECT status, count(*) AS n FROM subscriptions GROUP BY 1")
    return {row["status"]: row["n"] for row in rows}


# -- the delivery log ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Delivery:
    id: int
    event_id: str
    type: str | None
    subject: str
    replay: bool
    state: str
    attempts: int
    next_attempt_at: datetime | None
    last_attempt_at: datetime | None
    last_status: int | None
    last_latency_ms: int | None
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None


@dataclass(frozen=True, slots=True)
class RecordedAttempt:
    """One attempt of a delivery, as its outcome was recorded."""

    attempt: int
    at: datetime
    status: int | None
    latency_ms: int
    error: str | None


ATTEMPTS_SHOWN: Final = 100


async def attempts(
    conn: Reader, subscription_id: UUID, delivery_id: int
) -> list[RecordedAttempt] | None:
    """The latest ``ATTEMPTS_SHOWN`` recorded attempts of a delivery of this subscription, oldest
    first; None when the subscription has no such delivery."""
    rows = await conn.fetch(
        """SELECT a.attempt, a.at, a.status, a.latency_ms, a.error
           FROM webhook_deliveries d
           LEFT JOIN LATERAL (SELECT * FROM webhook_attempts a WHERE a.delivery_id = d.id
                              ORDER BY a.attempt DESC LIMIT $3) a ON true
           WHERE d.id = $2 AND d.subscription_id = $1
           ORDER BY a.attempt""",
        subscription_id,
        delivery_id,
        ATTEMPTS_SHOWN,
    )
    if not rows:
        return None
    return [RecordedAttempt(**dict(r)) for r in rows if r["attempt"] is not None]


async def deliveries(
    conn: Reader,
    subscription_id: UUID,
    *,
    before: int | None,
    state: str | None,
    limit: int,
) -> list[Delivery]:
    rows = await conn.fetch(
        """SELECT d.id, d.event_id, l.type, d.subject, d.replay, d.state, d.attempts,
                  CASE WHEN d.state = 'pending' THEN d.next_attempt_at END AS next_attempt_at,
                  d.last_attempt_at, d.last_status, d.last_latency_ms, d.last_error,
                  d.created_at, d.delivered_at
           FROM webhook_deliveries d LEFT JOIN event_log l ON l.position = d.position
           WHERE d.subscription_id = $1 AND ($2::bigint IS NULL OR d.id < $2)
             AND ($3::text IS NULL OR d.state = $3)
           ORDER BY d.id DESC LIMIT $4""",
        subscription_id,
        before,
        state,
        limit,
    )
    return [Delivery(**dict(r)) for r in rows]


async def prune_finished(conn: Connection, created_before: datetime, *, batch: int = 10_000) -> int:
    """Delete webhook deliveries done with (delivered or given up) and older than the log's
    retention, at most ``batch``: the delivery log reaches back as far as the event log."""
    deleted: int = await conn.fetchval(
        """WITH old AS (SELECT id FROM webhook_deliveries
                        WHERE state <> 'pending' AND created_at < $1 ORDER BY id LIMIT $2),
                gone AS (DELETE FROM webhook_deliveries d USING old
                         WHERE d.id = old.id RETURNING 1)
           SELECT count(*) FROM gone""",
        created_before,
        batch,
    )
    return deleted
