"""The gateway: the one public entry for provincial systems."""

import httpx
from fastapi import FastAPI

from laborcoop.common.http import ServiceSpec, create_service_app
from laborcoop.gateway.api import router
from laborcoop.gateway.projections import SUBSCRIPTION
from laborcoop.gateway.settings import GatewaySettings


async def open_upstreams(app: FastAPI) -> None:
    settings: GatewaySettings = app.state.settings
    timeout = httpx.Timeout(settings.upstream_timeout_s)
    app.state.upstreams = {
        name: httpx.AsyncClient(base_url=url, timeout=timeout)
        for name, url in (
            ("registry", settings.registry_url),
            ("agreements", settings.agreements_url),
            ("placements", settings.placements_url),
        )
    }


async def close_upstreams(app: FastAPI) -> None:
    for client in app.state.upstreams.values():
        await client.aclose()


SPEC = ServiceSpec(
    title="laborcoop gateway",
    version="1.0.0",
    description="The public API of laborcoop for provincial HR systems.",
    routers=[router],
    migration_package="laborcoop.gateway.migrations",
    subscriptions=[SUBSCRIPTION],
    on_startup=[open_upstreams],
    on_shutdown=[close_upstreams],
)


def create_app(settings: GatewaySettings | None = None) -> FastAPI:
    return create_service_app(SPEC, settings or GatewaySettings())
