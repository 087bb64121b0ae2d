"""The delivery workers: the fan-out from the event log and the senders.

The **fan-out** moves each subscription's cursor over the event log, making one delivery row per
event that the subscription's audience and filters select (a subscription is locked ``FOR UPDATE
SKIP LOCKED`` while it is fanned out, so replicas share the work and never make a row twice). It
wakes on the log's notification (``LogWakeup``), so a new event is fanned out at once.

The **senders** claim due rows (``FOR UPDATE SKIP LOCKED``, then a lease: the row's
``next_attempt_at`` moves past the attempt's timeout and ``claim`` names the sender), POST them,
and record the outcomes; a row whose lease ran out (its process died) is due again, so a restart
loses nothing and a duplicate carries the same ``webhook-id``. A row is claimed only when it is
the oldest pending row of its subscription and subject: events of one subject arrive in order,
different subjects in parallel. A failed attempt is retried on the schedule
(:mod:`~laborcoop.gateway.subscriptions.schedule`); a receiver failing for too long, or answering
410, has its subscription disabled, with the event ``subscription.disabled``.
"""

import asyncio
import logging
from collections.abc import Sequence
from contextlib import suppress
from datetime import datetime, timedelta
from typing import Final
from uuid import UUID, uuid4

from laborcoop.common.db import Connection, Pool
from laborcoop.common.settings import ServiceSettings
from laborcoop.common.spec import ServiceContext
from laborcoop.common.unit_of_work import event_writes
from laborcoop.contracts.events import new_event
from laborcoop.contracts.subscriptions import DisabledReason, SubscriptionDisabled
from laborcoop.gateway import metrics
from laborcoop.gateway.events import log as event_log
from laborcoop.gateway.events.wakeup import LogWakeup
from laborcoop.gateway.settings import GatewaySettings
from laborcoop.gateway.subscriptions import repository
from laborcoop.gateway.subscriptions.repository import Claimed, Outcome, Subscription
from laborcoop.gateway.subscriptions.schedule import GONE, Policy, Verdict
from laborcoop.gateway.subscriptions.secrets import SecretUnreadable
from laborcoop.gateway.subscriptions.sending import Attempt
from laborcoop.gateway.subscriptions.service import Webhooks
from laborcoop.gateway.uses import GatewayUses

log = logging.getLogger(__name__)

FAN_OUT_BATCH: Final = 1000
"""Log positions a subscription's cursor moves per transaction."""
PREFETCH: Final = 2
PRUNED: Final = "the event was pruned from the log before it could be delivered"
RECORD_LINGER_S: Final = 0.02
"""How long the recorder lets outcomes gather before writing them (one statement per batch)."""
"""Rows claimed per attempt slot: one in flight, one ready to start."""


class WebhookWorker:
    """The fan-out, the claimer and the recorder of one process (``ServiceSpec.workers``).

    The claimer keeps up to ``webhook_max_in_flight`` attempts going, and as many claimed rows
    ready behind them (so the slots are refilled at once while it claims more): a claimed row
    thus starts within one attempt's time, well inside its lease (two attempt timeouts and a
    margin). Outcomes are recorded in batches by the recorder; a row's successor of the same
    subject becomes claimable then."""

    def __init__(
        self, settings: GatewaySettings, pool: Pool, webhooks: Webhooks, wakeup: LogWakeup
    ) -> None:
        self._settings = settings
        self._pool = pool
        self._webhooks = webhooks
        self._wakeup = wakeup
        self._stopping = asyncio.Event()
        self._free = PREFETCH * settings.webhook_max_in_flight
        """Rows this process may still claim (in flight or ready to start)."""
        self._slots = asyncio.Semaphore(settings.webhook_max_in_flight)
        self._changed = asyncio.Event()
        """A slot freed or outcomes were recorded: the claimer may find more to claim."""
        self._finished: list[tuple[UUID, Claimed, Attempt]] = []
        self._to_record = asyncio.Event()
        self._attempts: set[asyncio.Task[None]] = set()
        self._claiming = True
        """False once the claimer stopped and its attempts ended: the recorder then ends."""

    def stop(self) -> None:
        self._stopping.set()
        self._webhooks.fanned_out.set()
        self._changed.set()

    async def run(self) -> None:
        await asyncio.gather(self._fan_out_loop(), self._claim_loop(), self._record_loop())

    async def _sleep(self, seconds: float) -> None:
        with suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)

    # -- fan-out -------------------------------------------------------------------------------

    async def _fan_out_loop(self) -> None:
        while not self._stopping.is_set():
            try:
                made = await self.fan_out_once()
            except Exception:
                log.exception("webhook fan-out failed; retrying")
                await self._sleep(self._settings.webhook_poll_interval_s)
                continue
            if not made and not self._stopping.is_set():
                await self._wakeup.wait(self._settings.webhook_poll_interval_s)

    async def fan_out_once(self) -> int:
        """One pass over the subscriptions behind the log's head; how many deliveries it made."""
        made = 0
        now = self._webhooks.clock()
        # One transaction and one time for the pass: the rows of every subscription appear at
        # once and are claimed in log order, so receivers are served side by side.
        async with self._pool.acquire() as conn, conn.transaction():
            head = await event_log.head(conn)
            for subscription_id in await repository.behind(conn, head):
                subscription = await repository.load(conn, subscription_id, lock=True)
                if subscription is None or subscription.status == "disabled":
                    continue  # another replica has it, or it was disabled meanwhile
                made += await repository.fan_out(conn, subscription, head, FAN_OUT_BATCH, now)
        if made:
            self._webhooks.fanned_out.set()
        return made

    # -- claiming and attempting ---------------------------------------------------------------

    async def _claim_loop(self) -> None:
        budget = PREFETCH * self._settings.webhook_max_in_flight
        worth_a_claim = max(1, min(self._settings.webhook_claim_batch, budget // 4))
        while not self._stopping.is_set():
            if self._free < worth_a_claim and self._attempts:
                # a claim per freed slot would cost a query each: claim when a few are free
                await self._until_changed(self._settings.webhook_poll_interval_s)
                continue
            wanted = min(self._settings.webhook_claim_batch, self._free)
            try:
                claimed = await self.claim_once(wanted)
            except Exception:
                log.exception("webhook claim failed; retrying")
                await self._sleep(self._settings.webhook_poll_interval_s)
                continue
            if claimed < wanted:
                await self._wait_for_due()
        if self._attempts:  # stopping: the attempts under way finish (each has its timeout)
            await asyncio.wait(set(self._attempts))
        self._claiming = False
        self._to_record.set()

    async def claim_once(self, wanted: int) -> int:
        """Claim up to ``wanted`` due rows and start an attempt for each; how many."""
        claim_id = uuid4()
        async with self._pool.acquire() as conn:
            claimed = await repository.claim(
                conn,
                claim_id,
                self._webhooks.clock(),
                self._webhooks.lease,
                wanted,
                self._settings.webhook_max_in_flight_per_subscription,
            )
        for delivery in claimed:
            self._free -= 1
            task = asyncio.create_task(self._attempt(claim_id, delivery))
            self._attempts.add(task)
            task.add_done_callback(self._attempts.discard)
        return len(claimed)

    async def _until_changed(self, timeout_s: float) -> None:
        with suppress(TimeoutError):
            await asyncio.wait_for(self._changed.wait(), timeout_s)
        self._changed.clear()

    async def _wait_for_due(self) -> None:
        """Nothing more is claimable now: wait until this process fans out or records, a retry
        falls due, or the poll interval passes (for the work of other replicas)."""
        wait_s = self._settings.webhook_poll_interval_s
        due = await repository.next_due(self._pool)
        if due is not None:
            due_in = (due - self._webhooks.clock()).total_seconds()
            if due_in > 0:
                wait_s = min(wait_s, due_in)
        fanned, changed = self._webhooks.fanned_out, self._changed
        waits = [asyncio.ensure_future(fanned.wait()), asyncio.ensure_future(changed.wait())]
        await asyncio.wait(waits, timeout=wait_s, return_when=asyncio.FIRST_COMPLETED)
        for waiting in waits:
            waiting.cancel()
        fanned.clear()
        changed.clear()

    async def _attempt(self, claim_id: UUID, delivery: Claimed) -> None:
        try:
            async with self._slots:
                attempt = await self._send(delivery)
        finally:
            self._free += 1
            self._changed.set()
        self._finished.append((claim_id, delivery, attempt))
        self._to_record.set()

    async def _send(self, delivery: Claimed) -> Attempt:
        if delivery.envelope is None:
            return Attempt(None, 0, PRUNED, sent=False)
        try:
            live = self._webhooks.live_secrets(
                delivery.subscription_id,
                delivery.secret,
                delivery.previous_secret,
                delivery.previous_secret_until,
            )
        except SecretUnreadable as exc:
            return Attempt(None, 0, f"secret unreadable: {exc}", sent=False)
        body = delivery.envelope.encode()
        return await self._webhooks.send(delivery.url, delivery.event_id, body, live)

    # -- recording -----------------------------------------------------------------------------

    async def _record_loop(self) -> None:
        """Record what finished, in batches, until stopped and every attempt is recorded. A
        batch that cannot be recorded is dropped: its rows are due again when their lease ends
        (attempted again, at least once)."""
        while True:
            await self._to_record.wait()
            if self._claiming:
                await self._sleep(RECORD_LINGER_S)  # more outcomes per statement
            self._to_record.clear()
            finished, self._finished = self._finished, []
            if finished:
                try:
                    await self.record(finished)
                except Exception:
                    log.exception("webhook outcomes not recorded; their rows will be retried")
                self._changed.set()
            if not self._claiming and not self._finished:
                return

    async def record(self, finished: Sequence[tuple[UUID, Claimed, Attempt]]) -> None:
        """The outcomes of ``finished`` attempts; subscriptions that succeeded are no longer
        failing, those that failed are failing (since now, unless already), and disabled when
        the receiver is gone or has failed for too long."""
        now = self._webhooks.clock()
        policy = self._webhooks.policy
        outcomes: list[Outcome] = []
        verdicts: dict[Verdict, set[UUID]] = {verdict: set() for verdict in Verdict}
        for claim_id, delivery, attempt in finished:
            outcome, verdict = outcome_of(policy, claim_id, delivery, attempt, now)
            outcomes.append(outcome)
            verdicts[verdict].add(delivery.subscription_id)
            _count(attempt, verdict)
        gone = verdicts[Verdict.GONE]
        failed = verdicts[Verdict.RETRY] | verdicts[Verdict.GIVE_UP] | gone
        async with self._pool.acquire() as conn, conn.transaction():
            await repository.record(conn, now, outcomes)
            if succeeded := verdicts[Verdict.DELIVERED] - failed:
                await repository.mark_succeeding(conn, sorted(succeeded))
            if not failed:
                return
            for subscription in await repository.mark_failing(conn, sorted(failed), now):
                if subscription.id in gone:
                    await disable(conn, self._settings, subscription, "gone", now, GONE)
                elif policy.should_disable(subscription.failing_since, now):
                    await disable(conn, self._settings, subscription, "failing", now, None)


def _count(attempt: Attempt, verdict: Verdict) -> None:
    metrics.WEBHOOK_ATTEMPTS.labels(verdict).inc()
    if attempt.sent:
        metrics.WEBHOOK_ATTEMPT_SECONDS.observe(attempt.latency_ms / 1000)


def outcome_of(
    policy: Policy, claim_id: UUID, delivery: Claimed, attempt: Attempt, now: datetime
) -> tuple[Outcome, Verdict]:
    """What becomes of a delivery after ``attempt``: delivered, due again after the retry
    delay, or given up (also when its event is no longer in the log)."""
    verdict = policy.verdict(attempt.status, delivery.attempt)
    if delivery.envelope is None:
        verdict = Verdict.GIVE_UP  # nothing left to send: its subject moves on
    state, next_at = "pending", now
    if verdict is Verdict.DELIVERED:
        state = "delivered"
    elif verdict is Verdict.RETRY:
        delay = policy.delay(delivery.attempt, attempt.retry_after_s)
        next_at = now + timedelta(seconds=delay or 0.0)
    elif verdict is Verdict.GONE:
        next_at = now + timedelta(seconds=policy.schedule_s[0])  # kept, should it be resumed
    else:
        state = "failed"
    outcome = Outcome(
        delivery.id, claim_id, state, next_at, attempt.status, attempt.latency_ms, attempt.error
    )
    return outcome, verdict


async def disable(
    conn: Connection,
    settings: ServiceSettings,
    subscription: Subscription,
    reason: DisabledReason,
    now: datetime,
    last_status: int | None,
) -> None:
    """Disable ``subscription`` and publish that it was (through the outbox, in this
    transaction). Already disabled: nothing."""
    version = await conn.fetchval(
        """UPDATE subscriptions SET status = 'disabled', disabled_reason = $2,
                  version = version + 1, updated_at = $3
           WHERE id = $1 AND status <> 'disabled' RETURNING version""",
        subscription.id,
        reason,
        now,
    )
    if version is None:
        return
    metrics.SUBSCRIPTIONS_DISABLED.labels(reason).inc()
    event = new_event(
        SubscriptionDisabled(
            subscription_id=subscription.id,
            client_id=subscription.client_id,
            reason=reason,
            failing_since=subscription.failing_since,
            last_status=last_status,
        ),
        subject=str(subscription.id),
        version=version,
        provinces=[subscription.province] if subscription.province else [],
        time=now,
    )
    for write in event_writes(settings, [event]):
        await conn.execute(write.sql, *write.args)
    log.warning(
        "webhook subscription disabled",
        extra={"subscription": str(subscription.id), "reason": reason},
    )


def webhook_worker(context: ServiceContext[GatewaySettings], uses: object) -> WebhookWorker:
    """The gateway's worker delivering webhooks (``ServiceSpec.workers``)."""
    assert isinstance(uses, GatewayUses)
    return WebhookWorker(context.settings, context.pool, uses.webhooks, uses.log_wakeup)
