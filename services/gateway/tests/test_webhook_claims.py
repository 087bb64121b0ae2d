"""The claim of due deliveries on a real database: replicas claiming at once take different
rows, a leased row is not claimed again until its lease ends (then it is, by whoever comes), a
late outcome of a lost claim changes nothing, and the next event of a subject waits for the
previous one while other subjects go on, and a subscription has no more attempts under way than
its share, over all replicas, while the others are served."""

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import pytest

from laborcoop.common.db import Pool, create_pool
from laborcoop.contracts.events import new_event
from laborcoop.gateway.app import SPEC
from laborcoop.gateway.events import log
from laborcoop.gateway.subscriptions import repository
from laborcoop.gateway.subscriptions.repository import Outcome, Subscription
from laborcoop.testing.databases import Databases
from services.gateway.tests.story import HUNAN, demand, stored_subscription

NOW = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)
LEASE = timedelta(seconds=50)


@pytest.fixture
async def pool(databases: Databases) -> AsyncIterator[Pool]:
    made = await create_pool(await databases.fresh(SPEC.migration_package), min_size=2, max_size=4)
    yield made
    await made.close()


async def _subscription(pool: Pool) -> Subscription:
    made = stored_subscription()
    await pool.execute(repository.INSERT, *repository.insert_args(made))
    return made


async def _logged(pool: Pool, subjects: list[UUID]) -> list[str]:
    """One event per entry of ``subjects`` (in this order) appended to the log; their ids."""
    ids = []
    versions: dict[UUID, int] = {}
    for subject in subjects:
        versions[subject] = versions.get(subject, 0) + 1
        event = new_event(
            demand(subject, HUNAN, "430102"),
            subject=str(subject),
            version=versions[subject],
            provinces=[HUNAN],
        )
        async with pool.acquire() as conn, conn.transaction():
            await log.append(conn, event, demand(subject, HUNAN, "430102"))
        ids.append(event.id)
    return ids


async def _fanned_out(pool: Pool, subscription: Subscription) -> int:
    async with pool.acquire() as conn, conn.transaction():
        return await repository.fan_out(conn, subscription, await log.head(conn), 1000, NOW)


async def _claim(
    pool: Pool, claim: UUID, now: datetime, limit: int = 100, per_subscription: int = 1000
) -> list[str]:
    async with pool.acquire() as conn:
        claimed = await repository.claim(conn, claim, now, LEASE, limit, per_subscription)
        return [c.event_id for c in claimed]


def _delivered(delivery_id: int, claim: UUID) -> Outcome:
    return Outcome(delivery_id, claim, "delivered", NOW, 204, 3, None)


async def test_replicas_claiming_at_once_take_different_rows(pool: Pool) -> None:
    subscription = await _subscription(pool)
    ids = await _logged(pool, [uuid4() for _ in range(40)])
    assert await _fanned_out(pool, subscription) == 40
    first, second = await asyncio.gather(
        _claim(pool, uuid4(), NOW, 25), _claim(pool, uuid4(), NOW, 25)
    )
    assert not set(first) & set(second)
    assert set(first) | set(second) == set(ids)  # 25 + 15: nothing left behind
    assert await _claim(pool, uuid4(), NOW) == []  # all leased


async def test_a_lease_holds_a_row_until_it_ends_and_fences_a_late_outcome(pool: Pool) -> None:
    subscription = await _subscription(pool)
    [event_id] = await _logged(pool, [uuid4()])
    await _fanned_out(pool, subscription)
    lost, taken_over = uuid4(), uuid4()
    assert await _claim(pool, lost, NOW) == [event_id]
    assert await _claim(pool, uuid4(), NOW + LEASE - timedelta(seconds=1)) == []
    assert await _claim(pool, taken_over, NOW + LEASE) == [event_id]  # the first one died
    delivery_id = await pool.fetchval("SELECT id FROM webhook_deliveries")
    async with pool.acquire() as conn:
        await repository.record(conn, NOW, [_delivered(delivery_id, lost)])  # too late
    row = await pool.fetchrow("SELECT state, attempts, claim FROM webhook_deliveries")
    assert row is not None
    assert (row["state"], row["attempts"], row["claim"]) == ("pending", 2, taken_over)
    async with pool.acquire() as conn:
        await repository.record(conn, NOW, [_delivered(delivery_id, taken_over)])
    assert await pool.fetchval("SELECT state FROM webhook_deliveries") == "delivered"


async def test_the_next_event_of_a_subject_waits_for_the_previous_one(pool: Pool) -> None:
    subscription = await _subscription(pool)
    a, b = uuid4(), uuid4()
    a1, b1, a2, a3 = await _logged(pool, [a, b, a, a])
    await _fanned_out(pool, subscription)
    assert sorted(await _claim(pool, uuid4(), NOW)) == sorted([a1, b1])  # not a2, a3
    later, claim = NOW + LEASE, uuid4()  # both leases ended: still a1 before a2
    assert sorted(await _claim(pool, claim, later)) == sorted([a1, b1])
    delivery_of = {
        r["event_id"]: r["id"]
        for r in await pool.fetch("SELECT id, event_id FROM webhook_deliveries")
    }
    async with pool.acquire() as conn:  # a1 delivered: a2 comes next, then a3
        await repository.record(conn, later, [_delivered(delivery_of[a1], claim)])
    assert await _claim(pool, claim, later) == [a2]
    async with pool.acquire() as conn:  # a2 given up: its subject moves on all the same
        failed = Outcome(delivery_of[a2], claim, "failed", later, 500, 3, "boom")
        await repository.record(conn, later, [failed])
    assert await _claim(pool, claim, later) == [a3]


async def test_a_paused_subscription_is_not_claimed(pool: Pool) -> None:
    subscription = await _subscription(pool)
    await _logged(pool, [uuid4(), uuid4()])
    await _fanned_out(pool, subscription)
    await pool.execute("UPDATE subscriptions SET status = 'paused'")
    assert await _claim(pool, uuid4(), NOW) == []
    await pool.execute("UPDATE subscriptions SET status = 'active'")
    assert len(await _claim(pool, uuid4(), NOW)) == 2


async def test_a_subscription_has_at_most_its_share_of_attempts_under_way(pool: Pool) -> None:
    subscription = await _subscription(pool)
    await _logged(pool, [uuid4() for _ in range(10)])
    await _fanned_out(pool, subscription)
    claim = uuid4()
    first = await _claim(pool, claim, NOW, per_subscription=3)
    assert len(first) == 3
    assert await _claim(pool, uuid4(), NOW, per_subscription=3) == []  # three under way
    delivery_id = await pool.fetchval(
        "SELECT id FROM webhook_deliveries WHERE event_id = $1", first[0]
    )
    async with pool.acquire() as conn:
        await repository.record(conn, NOW, [_delivered(delivery_id, claim)])
    assert len(await _claim(pool, uuid4(), NOW, per_subscription=3)) == 1  # one slot freed
    # four leases ran out (their process died): under way no more, a full share is claimed
    assert len(await _claim(pool, uuid4(), NOW + LEASE, per_subscription=3)) == 3


async def test_replicas_claiming_at_once_keep_to_the_share(pool: Pool) -> None:
    subscription = await _subscription(pool)
    await _logged(pool, [uuid4() for _ in range(20)])
    await _fanned_out(pool, subscription)
    claims = await asyncio.gather(
        *(_claim(pool, uuid4(), NOW, 10, per_subscription=4) for _ in range(3))
    )
    taken = [event_id for claimed in claims for event_id in claimed]
    assert len(taken) == len(set(taken)) <= 4
    assert len(taken) >= 1


async def test_a_subscription_with_a_backlog_does_not_hold_back_another(pool: Pool) -> None:
    behind = await _subscription(pool)
    await _logged(pool, [uuid4() for _ in range(10)])
    await _fanned_out(pool, behind)  # ten older rows
    async with pool.acquire() as conn:
        head = await log.head(conn)
    other = replace(await _subscription(pool), log_cursor=head)  # subscribed after them
    newer = await _logged(pool, [uuid4(), uuid4()])
    await _fanned_out(pool, other)
    taken = await _claim(pool, uuid4(), NOW, 6, per_subscription=3)
    assert len(taken) == 5
    assert set(newer) < set(taken)
