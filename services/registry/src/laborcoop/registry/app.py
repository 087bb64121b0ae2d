"""The registry service: the national register of labour brands."""

from fastapi import FastAPI

from laborcoop.common.http import ServiceSpec, create_service_app
from laborcoop.registry.api import router
from laborcoop.registry.service import Registry
from laborcoop.registry.settings import RegistrySettings


async def _build_use_cases(app: FastAPI) -> None:
    app.state.registry = Registry(app.state.settings, app.state.clock)


SPEC = ServiceSpec(
    title="laborcoop registry",
    version="1.0.0",
    description="The national register of labour brands (劳务品牌) and their indicators. "
    "Every change is published as an event on `laborcoop.registry.brands`.",
    routers=[router],
    migration_package="laborcoop.registry.migrations",
    on_startup=[_build_use_cases],
    openapi_tags=[
        {"name": "brands", "description": "Labour brands, their lifecycle and indicators"},
        {"name": "operations", "description": "Health and metrics"},
    ],
)


def create_app(settings: RegistrySettings | None = None) -> FastAPI:
    return create_service_app(SPEC, settings or RegistrySettings())
