"""The gateway: the one public entry for provincial systems."""

from laborcoop.common.app import app_factory
from laborcoop.common.auth import KeySet
from laborcoop.common.spec import ServiceContext, ServiceSpec
from laborcoop.gateway import metrics
from laborcoop.gateway.admission import Admission, AdmissionMiddleware
from laborcoop.gateway.api import router
from laborcoop.gateway.events import log as event_log
from laborcoop.gateway.events.retention import log_pruner
from laborcoop.gateway.events.wakeup import LogWakeup
from laborcoop.gateway.forwarding import Upstreams
from laborcoop.gateway.identity.api import keys_router, token_router
from laborcoop.gateway.identity.disabled import DisabledClients
from laborcoop.gateway.identity.limits import FailureLimit
from laborcoop.gateway.identity.service import Identity
from laborcoop.gateway.limits import RateLimit
from laborcoop.gateway.openapi import public_document
from laborcoop.gateway.settings import GatewaySettings
from laborcoop.gateway.stream.api import router as stream_router
from laborcoop.gateway.stream.streams import OpenStreams
from laborcoop.gateway.subscriptions.api import router as subscriptions_router
from laborcoop.gateway.subscriptions.delivery import webhook_worker
from laborcoop.gateway.subscriptions.service import Webhooks
from laborcoop.gateway.upstream import Owner, TransportOwner, UpstreamPool
from laborcoop.gateway.uses import GatewayUses
from laborcoop.gateway.views.api import router as views_router
from laborcoop.gateway.views.lag import lag_probe
from laborcoop.gateway.views.projections import SUBSCRIPTIONS


def open_upstreams(context: ServiceContext[GatewaySettings]) -> Upstreams:
    """A pool of kept-alive connections per owning service (as many as the gateway serves
    requests at once, ``http_max_connections``: the pool never queues a request the gateway
    took), or ``context.transports[name]`` when a test gives one; closed at shutdown."""
    settings = context.settings
    urls = {
        "registry": settings.registry_url,
        "agreements": settings.agreements_url,
        "placements": settings.placements_url,
    }
    owners: dict[str, Owner] = {}
    for name, url in urls.items():
        transport = context.transports.get(name)
        owners[name] = (
            TransportOwner(transport, url)
            if transport is not None
            else UpstreamPool(
                url, size=settings.http_max_connections, timeout_s=settings.upstream_timeout_s
            )
        )
        context.closing.push_async_callback(owners[name].aclose)
    return Upstreams(owners)


def identity(context: ServiceContext[GatewaySettings]) -> Identity:
    """Clients and tokens: the signing keys of the settings, the failure limit of this replica
    (in memory, on the app's clock)."""
    settings = context.settings
    clock = context.clock
    return Identity(
        clock,
        keys=settings.signing_keys(),
        token_ttl_s=settings.token_ttl_s,
        jwks_max_age_s=settings.jwks_max_age_s,
        failures=FailureLimit(
            settings.token_failure_limit,
            settings.token_failure_window_s,
            clock=lambda: clock().timestamp(),
        ),
    )


def log_wakeup(context: ServiceContext[GatewaySettings]) -> LogWakeup:
    """One listener on the event log per process (opened at the first wait), closed at
    shutdown."""
    wakeup = LogWakeup(context.settings.database_url.get_secret_value())
    context.closing.push_async_callback(wakeup.aclose)
    return wakeup


def admission(context: ServiceContext[GatewaySettings]) -> Admission:
    """The rate limit and the disabled clients of this replica, in memory (the set is read by
    :func:`before_serving` before the app serves; a refresh under way stops at shutdown)."""
    settings = context.settings
    made = Admission(
        RateLimit(settings.client_rate_per_s, settings.client_rate_burst),
        DisabledClients(context.pool, settings.disabled_clients_refresh_s),
    )
    context.closing.push_async_callback(made.aclose)
    return made


async def before_serving(context: ServiceContext[GatewaySettings], uses: GatewayUses) -> None:
    """In production the webhook secrets must be sealed with a key of the operators'; then the
    disabled clients are read, whose tokens are refused from the first request."""
    require_webhook_key(context.settings)
    await uses.admission.disabled.load()


def require_webhook_key(settings: GatewaySettings) -> None:
    """Production seals webhook secrets with the operators' key, never the development one."""
    if settings.webhook_secret_key is None and settings.environment == "production":
        raise RuntimeError(
            "production needs LABORCOOP_WEBHOOK_SECRET_KEY: it seals the webhook secrets"
        )


def webhooks(context: ServiceContext[GatewaySettings]) -> Webhooks:
    """Webhook subscriptions and delivery; their HTTP client is closed at shutdown."""
    made = Webhooks(context.settings, context.clock)
    context.closing.push_async_callback(made.aclose)
    return made


def build(context: ServiceContext[GatewaySettings]) -> GatewayUses:
    return GatewayUses(
        upstreams=open_upstreams(context),
        identity=identity(context),
        log_wakeup=log_wakeup(context),
        admission=admission(context),
        streams=OpenStreams(context.settings.stream_max_per_client),
        webhooks=webhooks(context),
    )


def stream_drain(context: ServiceContext[GatewaySettings], uses: GatewayUses) -> OpenStreams:
    """The open event streams as a worker: halted when the shutdown begins, they end at once
    instead of holding it for the whole grace period."""
    return uses.streams


def own_keys(settings: GatewaySettings) -> KeySet | None:
    """The gateway verifies bearer tokens with the keys it signs them with, when it has some;
    in production it must have some (its ``serve`` stops here otherwise)."""
    keys = settings.signing_keys()
    if keys is None and settings.environment == "production":
        raise RuntimeError(
            "production needs LABORCOOP_TOKEN_SIGNING_KEYS: the gateway signs tokens with them"
        )
    return keys.key_set() if keys is not None else None


SPEC = ServiceSpec(
    name="gateway",
    title="laborcoop gateway",
    version="1.0.0",
    description="The public API of laborcoop for provincial HR systems. Get a token at "
    "`POST /v1/oauth/token` (OAuth 2.0 client credentials) and send it as "
    "`Authorization: Bearer …`; the keys that verify it are at `/.well-known/jwks.json`.",
    # The views first: their GET of a list is answered before the forwarding routes match it.
    routers=[views_router, stream_router, subscriptions_router, router, token_router, keys_router],
    migration_package="laborcoop.gateway.migrations",
    build=build,
    subscriptions=(*SUBSCRIPTIONS, event_log.SUBSCRIPTION),
    workers=[lag_probe, log_pruner, stream_drain, webhook_worker],
    own_keys=own_keys,
    check=before_serving,
    admission=AdmissionMiddleware,
    gauges=metrics.set_gauges,  # webhook backlog and subscriptions, read on each scrape
    openapi=public_document,  # its own routes and every route it forwards
)


create_app = app_factory(SPEC, GatewaySettings)
"""The app of this service (settings from the environment unless given)."""
