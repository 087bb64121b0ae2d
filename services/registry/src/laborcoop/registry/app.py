"""The registry service: the national register of labour brands."""

from fastapi import FastAPI

from laborcoop.common.http import ServiceSpec, create_service_app
from laborcoop.registry.api import router
from laborcoop.registry.settings import RegistrySettings

SPEC = ServiceSpec(
    title="laborcoop registry",
    version="1.0.0",
    description="The national register of labour brands (劳务品牌) and their indicators.",
    routers=[router],
    migration_package="laborcoop.registry.migrations",
)


def create_app(settings: RegistrySettings | None = None) -> FastAPI:
    return create_service_app(SPEC, settings or RegistrySettings())
