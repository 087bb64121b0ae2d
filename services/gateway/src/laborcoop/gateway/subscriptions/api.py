"""``/v1/subscriptions``: a client's webhook subscriptions, their secrets, deliveries, pings and
replays. Each route parses, runs one use case, and answers; the signing secret appears only in
the answers to a creation and a rotation (never in a stored Idempotency-Key answer)."""

from collections.abc import Awaitable, Callable
from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Path, Query, Request, Response

from laborcoop.common.auth import CurrentPrincipal
from laborcoop.common.deps import DbPool, state_of
from laborcoop.common.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    PreconditionFailed,
    problem_responses,
)
from laborcoop.common.idempotency import REPLAYED_HEADER, Command
from laborcoop.common.pagination import Cursor, Limit, Page, cursor_id, decode_cursor, page_of
from laborcoop.common.routes import AggregateRoutes
from laborcoop.common.unit_of_work import UnitOfWork
from laborcoop.common.versioning import IfMatch, RequiredIfMatch, versioned
from laborcoop.gateway.events.log import audience_of
from laborcoop.gateway.subscriptions import repository
from laborcoop.gateway.subscriptions.repository import Subscription
from laborcoop.gateway.subscriptions.schemas import (
    AttemptOut,
    DeliveryOut,
    PingOut,
    ReplayIn,
    ReplayOut,
    SubscriptionIn,
    SubscriptionOut,
    SubscriptionPatch,
    SubscriptionWithSecret,
)
from laborcoop.gateway.subscriptions.service import Webhooks

router = APIRouter(prefix="/v1/subscriptions", tags=["subscriptions"])

SubscriptionId = Annotated[UUID, Path(description="The subscription's id")]
ROUTES = AggregateRoutes(router, "subscription_id", "subscription", SubscriptionOut)
LOCATION = "/v1/subscriptions/{id}"
WHO = (
    " A province's system receives its province's events (those whose `provinces` include "
    "it), the ministry every event; observers none (403). A client sees only its own "
    "subscriptions."
)


async def _webhooks(request: Request) -> Webhooks:
    uses = state_of(request.app).use_cases
    webhooks = getattr(uses, "webhooks", None)
    if not isinstance(webhooks, Webhooks):
        raise TypeError("the subscriptions run in the gateway, on its use cases")
    return webhooks


Use = Annotated[Webhooks, Depends(_webhooks)]


def answer(subscription: Subscription, status_code: int = 200) -> Response:
    return versioned(
        SubscriptionOut.of(subscription),
        version=subscription.version,
        location=LOCATION.format(id=subscription.id),
        status_code=status_code,
    )


def _with_secret(subscription: Subscription, secret: str | None, status_code: int) -> Response:
    body = SubscriptionWithSecret(**SubscriptionOut.of(subscription).model_dump(), secret=secret)
    return versioned(
        body,
        version=subscription.version,
        location=LOCATION.format(id=subscription.id),
        status_code=status_code,
    )


async def _showing_secret(
    command: Command,
    work: Callable[[UnitOfWork], Awaitable[tuple[Subscription, str]]],
    status_code: int,
) -> Response:
    """Run ``work`` as a command whose stored answer (replayed for its Idempotency-Key) carries
    no secret; the first answer shows it."""
    made: list[tuple[Subscription, str]] = []

    async def run(uow: UnitOfWork) -> Subscription:
        result = await work(uow)
        made.append(result)
        return result[0]

    response = await command.execute(run, lambda s: _with_secret(s, None, status_code))
    if response.headers.get(REPLAYED_HEADER) or not made:
        return response
    return _with_secret(*made[-1], status_code)


@router.post(
    "",
    status_code=201,
    response_model=SubscriptionWithSecret,
    summary="Subscribe a webhook",
    description="Events are POSTed to `url` as CloudEvents, signed as Standard Webhooks say "
    "(`webhook-id`, `webhook-timestamp`, `webhook-signature`) with the `secret` of this answer, "
    "shown only here. `types` (exact, or a prefix ending in `.*`) and `provinces` only narrow "
    "what the caller may receive." + WHO + " Delivery starts with the events logged after now "
    "(a replay delivers older ones).",
    responses=problem_responses(Forbidden),
)
async def create_subscription(body: SubscriptionIn, command: Command, use: Use) -> Response:
    return await _showing_secret(command, lambda uow: use.create(uow, command.principal, body), 201)


@ROUTES.listing(Page[SubscriptionOut], "List your subscriptions")
async def list_subscriptions(
    principal: CurrentPrincipal, pool: DbPool, use: Use, limit: Limit = 50, cursor: Cursor = None
) -> Page[SubscriptionOut]:
    audience_of(principal)
    async with pool.acquire() as conn:
        found = await repository.of_client(
            conn, principal.client_id, after=cursor_id(cursor), limit=limit + 1
        )
    return page_of([SubscriptionOut.of(s) for s in found], limit, lambda s: {"id": str(s.id)})


@ROUTES.one("One subscription, with its ETag")
async def get_subscription(
    subscription_id: SubscriptionId, principal: CurrentPrincipal, pool: DbPool, use: Use
) -> Response:
    async with pool.acquire() as conn:
        return answer(await use.visible(conn, principal, subscription_id))


@ROUTES.edit(
    "patch",
    "Change a subscription's URL or filters",
    "Only the fields sent change; with `If-Match`.",
)
async def update_subscription(
    subscription_id: SubscriptionId,
    body: SubscriptionPatch,
    command: Command,
    use: Use,
    if_match: RequiredIfMatch,
) -> Response:
    return await command.execute(
        lambda uow: use.update(uow, command.principal, subscription_id, if_match, body), answer
    )


@router.delete(
    "/{subscription_id}",
    status_code=204,
    summary="Delete a subscription",
    description="Its pending deliveries are dropped.",
    responses=problem_responses(Forbidden, NotFound, PreconditionFailed),
)
async def delete_subscription(
    subscription_id: SubscriptionId, command: Command, use: Use, if_match: IfMatch = None
) -> Response:
    return await command.execute(
        lambda uow: use.delete(uow, command.principal, subscription_id, if_match),
        lambda _: Response(status_code=204),
    )


@ROUTES.command("pause", "Pause deliveries", "Events keep being collected; nothing is sent.")
async def pause_subscription(
    subscription_id: SubscriptionId, command: Command, use: Use, if_match: IfMatch = None
) -> Response:
    return await command.execute(
        lambda uow: use.pause(uow, command.principal, subscription_id, if_match), answer
    )


@ROUTES.command(
    "resume",
    "Resume a paused or disabled subscription",
    "What was collected while paused is delivered, and what was logged while disabled.",
)
async def resume_subscription(
    subscription_id: SubscriptionId, command: Command, use: Use, if_match: IfMatch = None
) -> Response:
    return await command.execute(
        lambda uow: use.resume(uow, command.principal, subscription_id, if_match), answer
    )


@router.post(
    "/{subscription_id}/secret-rotations",
    response_model=SubscriptionWithSecret,
    summary="Rotate the signing secret",
    description="The new secret is shown only in this answer. The previous one keeps signing "
    "beside it (two signatures in `webhook-signature`) until `previous_secret_expires_at`.",
    responses=problem_responses(Forbidden, NotFound, Conflict, PreconditionFailed),
)
async def rotate_secret(
    subscription_id: SubscriptionId, command: Command, use: Use, if_match: IfMatch = None
) -> Response:
    return await _showing_secret(
        command,
        lambda uow: use.rotate_secret(uow, command.principal, subscription_id, if_match),
        200,
    )


DeliveryState = Literal["pending", "delivered", "failed"]


def _delivery_cursor(cursor: str | None) -> int | None:
    if cursor is None:
        return None
    value = decode_cursor(cursor).get("id")
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise InvalidInput.field("cursor", "not a cursor of this list")
    return value


@router.get(
    "/{subscription_id}/deliveries",
    response_model=Page[DeliveryOut],
    summary="The delivery log, newest first",
    description="Each event delivered or to deliver: attempts, the last status code, latency "
    "and error, and when the next attempt is due.",
    responses=problem_responses(Forbidden, NotFound),
)
async def list_deliveries(
    subscription_id: SubscriptionId,
    principal: CurrentPrincipal,
    pool: DbPool,
    use: Use,
    state: Annotated[DeliveryState | None, Query(description="Only in this state")] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[DeliveryOut]:
    async with pool.acquire() as conn:
        found = await use.deliveries(
            conn,
            principal,
            subscription_id,
            before=_delivery_cursor(cursor),
            state=state,
            limit=limit + 1,
        )
    return page_of([DeliveryOut.of(d) for d in found], limit, lambda d: {"id": d.id})


@router.get(
    "/{subscription_id}/deliveries/{delivery_id}/attempts",
    response_model=list[AttemptOut],
    summary="Every attempt of one delivery",
    description="Oldest first (the latest "
    f"{repository.ATTEMPTS_SHOWN}): when, the status code, latency and error of each. The "
    "delivery log shows only the last attempt of each delivery.",
    responses=problem_responses(Forbidden, NotFound),
)
async def list_attempts(
    subscription_id: SubscriptionId,
    delivery_id: Annotated[int, Path(ge=1, le=2**63 - 1, description="The delivery's id")],
    principal: CurrentPrincipal,
    pool: DbPool,
    use: Use,
) -> list[AttemptOut]:
    async with pool.acquire() as conn:
        found = await use.attempts(conn, principal, subscription_id, delivery_id)
    return [AttemptOut.of(a) for a in found]


@router.post(
    "/{subscription_id}/pings",
    response_model=PingOut,
    summary="Send a signed test event now",
    description="A CloudEvent of type `cn.laborcoop.gateway.subscription.ping.v1`, signed like "
    "every delivery, POSTed at once (not retried, not logged); the answer says how it went.",
    responses=problem_responses(Forbidden, NotFound),
)
async def ping(
    subscription_id: SubscriptionId, principal: CurrentPrincipal, pool: DbPool, use: Use
) -> PingOut:
    async with pool.acquire() as conn:
        event_id, attempt = await use.ping(conn, principal, subscription_id)
    return PingOut(
        event_id=event_id,
        delivered=attempt.delivered,
        status=attempt.status,
        latency_ms=attempt.latency_ms,
        error=attempt.error,
    )


@router.post(
    "/{subscription_id}/replays",
    status_code=202,
    response_model=ReplayOut,
    summary="Deliver again what the log holds since a time or an event",
    description="Every event logged at or after `since`, or after the event `after_event_id`, "
    "that the subscription selects is delivered again (same `webhook-id` as before), in order "
    "per subject.",
    responses=problem_responses(Forbidden, NotFound),
)
async def replay(
    subscription_id: SubscriptionId, body: ReplayIn, command: Command, use: Use
) -> Response:
    return await command.execute(
        lambda uow: use.replay(uow, command.principal, subscription_id, body),
        lambda n: Response(
            ReplayOut(deliveries=n).model_dump_json(),
            status_code=202,
            media_type="application/json",
        ),
    )
