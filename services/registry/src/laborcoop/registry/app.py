"""The registry service: the national register of labour brands."""

from laborcoop.common.app import app_factory
from laborcoop.common.spec import ServiceContext, ServiceSpec
from laborcoop.registry.api import router
from laborcoop.registry.service import Registry
from laborcoop.registry.settings import RegistrySettings


def _registry(context: ServiceContext[RegistrySettings]) -> Registry:
    return Registry(context.settings, context.clock)


SPEC = ServiceSpec(
    name="registry",
    title="laborcoop registry",
    version="1.0.0",
    description="The national register of labour brands (劳务品牌) and their indicators. "
    "Every change is published as an event on `laborcoop.registry.brands`.",
    routers=[router],
    migration_package="laborcoop.registry.migrations",
    build=_registry,
    openapi_tags=[
        {"name": "brands", "description": "Labour brands, their lifecycle and indicators"},
        {"name": "operations", "description": "Health and metrics"},
    ],
)


create_app = app_factory(SPEC, RegistrySettings)
"""The app of this service (settings from the environment unless given)."""
