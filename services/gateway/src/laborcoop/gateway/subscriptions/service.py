"""The subscriptions' use cases: a client's own subscriptions, their secrets, the delivery log,
a test ping and replays. Who may subscribe: a province's system (its audience is its province's
events) and the ministry (every event); observers receive no events (403)."""

import asyncio
import dataclasses
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Final
from uuid import UUID

import httpx

from laborcoop.common.clock import Clock
from laborcoop.common.db import Connection, Pool, Reader
from laborcoop.common.errors import (
    InvalidInput,
    InvalidState,
    NotFound,
    ServiceUnavailable,
)
from laborcoop.common.principal import Principal
from laborcoop.common.unit_of_work import UnitOfWork
from laborcoop.common.versioning import check_version
from laborcoop.contracts.envelope import CloudEvent, format_sequence
from laborcoop.contracts.ids import uuid7
from laborcoop.gateway.events import log as event_log
from laborcoop.gateway.events.log import audience_of
from laborcoop.gateway.settings import GatewaySettings
from laborcoop.gateway.subscriptions import repository, sending
from laborcoop.gateway.subscriptions.repository import Subscription
from laborcoop.gateway.subscriptions.safety import (
    Refused,
    Resolver,
    check_target,
    guarded_client,
    system_resolver,
)
from laborcoop.gateway.subscriptions.schedule import Policy
from laborcoop.gateway.subscriptions.schemas import ReplayIn, SubscriptionIn, SubscriptionPatch
from laborcoop.gateway.subscriptions.secrets import SecretBox, SecretUnreadable, new_secret

PING_TYPE: Final = "cn.laborcoop.gateway.subscription.ping.v1"
"""The type of a test ping's CloudEvent (never logged nor published: sent to one receiver)."""
LEASE_MARGIN_S: Final = 30.0


@dataclasses.dataclass
class Resealing:
    """What ``reseal_secrets`` did: subscriptions whose secrets it sealed again under the
    current key, those already under it, and those no configured key opens."""

    resealed: int = 0
    current: int = 0
    unreadable: list[UUID] = dataclasses.field(default_factory=list)


class Webhooks:
    """What the routes and the delivery workers share: settings, the secret box, the retry
    policy, the resolver (tests map names of their own) and the pooled, guarded HTTP client."""

    def __init__(self, settings: GatewaySettings, clock: Clock) -> None:
        self.settings = settings
        self.clock = clock
        key = settings.webhook_secret_key
        self.box = SecretBox.from_setting(
            None if key is None else key.get_secret_value(),
            [previous.get_secret_value() for previous in settings.webhook_previous_secret_keys],
        )
        self.policy = Policy(
            settings.webhook_retry_schedule_s,
            settings.webhook_retry_jitter,
            settings.webhook_retry_after_max_s,
            settings.webhook_disable_after_s,
        )
        self.resolver: Resolver = system_resolver
        self.fanned_out = asyncio.Event()
        """Set when this process made deliveries: its senders claim them at once."""
        self._client: httpx.AsyncClient | None = None

    async def reseal_secrets(self, pool: Pool, *, page: int = 500) -> Resealing:
        """Seal every stored secret (and previous secret) under the current key, a page of
        subscriptions per transaction; a subscription no key opens is left as it is and named
        (it must rotate its secret)."""
        done = Resealing()
        after: UUID | None = None
        while True:
            async with pool.acquire() as conn, conn.transaction():
                rows = await repository.sealed_page(conn, after, page)
                for row in rows:
                    await self._reseal(conn, row, done)
            if len(rows) < page:
                return done
            after = rows[-1].id

    async def _reseal(self, conn: Connection, row: repository.Sealed, done: Resealing) -> None:
        try:
            secret = self.box.resealed(row.secret, row.id)
            previous = None
            if row.previous_secret is not None:
                previous = self.box.resealed(row.previous_secret, row.id)
        except SecretUnreadable:
            done.unreadable.append(row.id)
            return
        if secret is None and previous is None:
            done.current += 1
            return
        resealed = dataclasses.replace(
            row, secret=secret or row.secret, previous_secret=previous or row.previous_secret
        )
        await repository.set_sealed(conn, resealed)
        done.resealed += 1

    @property
    def lease(self) -> timedelta:
        """How long a claimed delivery is held: it may wait for one attempt before its own
        starts (``delivery.PREFETCH``), so two attempts' timeouts, and a margin."""
        return timedelta(seconds=2 * self.settings.webhook_timeout_s + LEASE_MARGIN_S)

    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = guarded_client(
                self.settings.webhook_http_hosts,
                lambda: self.resolver,
                timeout_s=self.settings.webhook_timeout_s,
                # room for idle kept-alive connections to many receivers beside the busy ones
                max_connections=2 * self.settings.webhook_max_in_flight,
            )
        return self._client

    async def aclose(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()

    def live_secrets(
        self, subscription_id: UUID, sealed: str, previous: str | None, until: datetime | None
    ) -> list[str]:
        """The secrets that sign now: the current one, and the previous one in its overlap."""
        live = [self.box.open(sealed, subscription_id)]
        if previous is not None and until is not None and until > self.clock():
            live.append(self.box.open(previous, subscription_id))
        return live

    async def send(
        self, url: str, message_id: str, body: bytes, live: list[str]
    ) -> sending.Attempt:
        return await sending.attempt(
            self.client(),
            url,
            message_id,
            body,
            live,
            now=self.clock(),
            timeout_s=self.settings.webhook_timeout_s,
            read_limit=self.settings.webhook_response_limit_bytes,
        )

    # -- use cases -----------------------------------------------------------------------------

    async def create(
        self, uow: UnitOfWork, principal: Principal, body: SubscriptionIn
    ) -> tuple[Subscription, str]:
        audience = audience_of(principal)
        province, everything = audience.province, audience.everything
        await self._check_url(body.url)
        now = self.clock()
        subscription_id = uuid7()
        secret = new_secret()
        head = await event_log.head(uow.conn)
        made = Subscription(
            id=subscription_id,
            client_id=principal.client_id,
            province=province,
            everything=everything,
            url=body.url,
            types=tuple(dict.fromkeys(body.types)),
            provinces=tuple(sorted(set(body.provinces))),
            status="active",
            disabled_reason=None,
            secret=self.box.seal(secret, subscription_id),
            previous_secret=None,
            previous_secret_until=None,
            log_cursor=head,
            failing_since=None,
            version=1,
            created_at=now,
            updated_at=now,
        )
        uow.write(repository.INSERT, *repository.insert_args(made))
        return made, secret

    async def visible(
        self, conn: Reader, principal: Principal, subscription_id: UUID
    ) -> Subscription:
        """The caller's own subscription (404 for anyone else's: it is not theirs to know of)."""
        audience_of(principal)
        found = await repository.owned(conn, principal.client_id, subscription_id)
        if found is None:
            raise NotFound("no such subscription")
        return found

    async def _locked(
        self, uow: UnitOfWork, principal: Principal, subscription_id: UUID
    ) -> Subscription:
        audience_of(principal)
        await uow.begin()
        found = await repository.owned(uow.conn, principal.client_id, subscription_id, lock=True)
        if found is None:
            raise NotFound("no such subscription")
        return found

    def _save(self, uow: UnitOfWork, before: Subscription, **changes: Any) -> Subscription:
        after = dataclasses.replace(
            before, version=before.version + 1, updated_at=self.clock(), **changes
        )
        uow.write(repository.UPDATE, *repository.update_args(after))
        return after

    async def update(
        self,
        uow: UnitOfWork,
        principal: Principal,
        subscription_id: UUID,
        if_match: str | None,
        patch: SubscriptionPatch,
    ) -> Subscription:
        current = await self._locked(uow, principal, subscription_id)
        check_version(if_match, current.version)
        changes: dict[str, Any] = {}
        if patch.url is not None:
            await self._check_url(patch.url)
            changes["url"] = patch.url
        if patch.types is not None:
            changes["types"] = tuple(dict.fromkeys(patch.types))
        if patch.provinces is not None:
            changes["provinces"] = tuple(sorted(set(patch.provinces)))
        return self._save(uow, current, **changes)

    async def pause(
        self, uow: UnitOfWork, principal: Principal, subscription_id: UUID, if_match: str | None
    ) -> Subscription:
        current = await self._locked(uow, principal, subscription_id)
        check_version(if_match, current.version, required=False)
        if current.status != "active":
            raise InvalidState(current.status, "pause")
        return self._save(uow, current, status="paused")

    async def resume(
        self, uow: UnitOfWork, principal: Principal, subscription_id: UUID, if_match: str | None
    ) -> Subscription:
        """A paused subscription delivers what accumulated meanwhile; a disabled one also what
        was logged while it was disabled (its fan-out stopped, its cursor did not move)."""
        current = await self._locked(uow, principal, subscription_id)
        check_version(if_match, current.version, required=False)
        if current.status == "active":
            raise InvalidState(current.status, "resume")
        return self._save(uow, current, status="active", disabled_reason=None, failing_since=None)

    async def delete(
        self, uow: UnitOfWork, principal: Principal, subscription_id: UUID, if_match: str | None
    ) -> None:
        current = await self._locked(uow, principal, subscription_id)
        check_version(if_match, current.version, required=False)
        uow.write("DELETE FROM subscriptions WHERE id = $1", current.id)

    async def rotate_secret(
        self, uow: UnitOfWork, principal: Principal, subscription_id: UUID, if_match: str | None
    ) -> tuple[Subscription, str]:
        """A new secret; the current one keeps signing beside it for the overlap."""
        current = await self._locked(uow, principal, subscription_id)
        check_version(if_match, current.version, required=False)
        secret = new_secret()
        overlap = timedelta(seconds=self.settings.webhook_secret_overlap_s)
        rotated = self._save(
            uow,
            current,
            secret=self.box.seal(secret, current.id),
            previous_secret=current.secret if overlap else None,
            previous_secret_until=self.clock() + overlap if overlap else None,
        )
        return rotated, secret

    async def replay(
        self, uow: UnitOfWork, principal: Principal, subscription_id: UUID, body: ReplayIn
    ) -> int:
        current = await self._locked(uow, principal, subscription_id)
        if body.after_event_id is not None:
            after = await event_log.position_of(uow.conn, body.after_event_id)
            if after is None:
                raise InvalidInput.field("after_event_id", "no such event in the log", "unknown")
        else:
            assert body.since is not None
            after = await event_log.position_before(uow.conn, body.since)
        made = await repository.replay(uow.conn, current, after, self.clock())
        if made:
            self.fanned_out.set()
        return made

    async def ping(
        self, conn: Reader, principal: Principal, subscription_id: UUID
    ) -> tuple[str, sending.Attempt]:
        """A signed test event POSTed now (not logged, not retried); its outcome."""
        subscription = await self.visible(conn, principal, subscription_id)
        event = CloudEvent(
            id=str(uuid7()),
            source="/laborcoop/gateway",
            type=PING_TYPE,
            subject=str(subscription.id),
            time=self.clock(),
            dataschema=f"https://laborcoop.cn/schemas/events/{PING_TYPE}.json",
            sequence=format_sequence(subscription.version),
            provinces=subscription.province or "",
            data={"subscription_id": str(subscription.id)},
        )
        live = self._live(subscription)
        return event.id, await self.send(subscription.url, event.id, event.to_json_bytes(), live)

    def _live(self, s: Subscription) -> list[str]:
        try:
            return self.live_secrets(s.id, s.secret, s.previous_secret, s.previous_secret_until)
        except SecretUnreadable as exc:
            raise ServiceUnavailable(
                "the gateway cannot read this subscription's secret: rotate it"
            ) from exc

    async def deliveries(
        self,
        conn: Reader,
        principal: Principal,
        subscription_id: UUID,
        *,
        before: int | None,
        state: str | None,
        limit: int,
    ) -> Sequence[repository.Delivery]:
        await self.visible(conn, principal, subscription_id)
        return await repository.deliveries(
            conn, subscription_id, before=before, state=state, limit=limit
        )

    async def attempts(
        self, conn: Reader, principal: Principal, subscription_id: UUID, delivery_id: int
    ) -> Sequence[repository.RecordedAttempt]:
        await self.visible(conn, principal, subscription_id)
        found = await repository.attempts(conn, subscription_id, delivery_id)
        if found is None:
            raise NotFound("no such delivery of this subscription")
        return found

    async def _check_url(self, url: str) -> None:
        try:
            await check_target(url, self.settings.webhook_http_hosts, self.resolver)
        except Refused as exc:
            raise InvalidInput.field("url", str(exc), "refused") from exc
