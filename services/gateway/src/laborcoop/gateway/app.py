"""The gateway: the one public entry for provincial systems."""

import httpx

from laborcoop.common.app import app_factory
from laborcoop.common.spec import ServiceContext, ServiceSpec
from laborcoop.gateway.api import router
from laborcoop.gateway.forwarding import Upstreams
from laborcoop.gateway.projections import SUBSCRIPTION
from laborcoop.gateway.settings import GatewaySettings


def open_upstreams(context: ServiceContext[GatewaySettings]) -> Upstreams:
    """One client per owning service, over ``context.transports[name]`` when a test gives one
    (the network otherwise); closed at shutdown."""
    settings = context.settings
    timeout = httpx.Timeout(settings.upstream_timeout_s)
    urls = {
        "registry": settings.registry_url,
        "agreements": settings.agreements_url,
        "placements": settings.placements_url,
    }
    clients = {
        name: httpx.AsyncClient(
            base_url=url, timeout=timeout, transport=context.transports.get(name)
        )
        for name, url in urls.items()
    }
    for client in clients.values():
        context.closing.push_async_callback(client.aclose)
    return Upstreams(clients)


SPEC = ServiceSpec(
    name="gateway",
    title="laborcoop gateway",
    version="1.0.0",
    description="The public API of laborcoop for provincial HR systems.",
    routers=[router],
    migration_package="laborcoop.gateway.migrations",
    build=open_upstreams,
    subscriptions=[SUBSCRIPTION],
)


create_app = app_factory(SPEC, GatewaySettings)
"""The app of this service (settings from the environment unless given)."""
