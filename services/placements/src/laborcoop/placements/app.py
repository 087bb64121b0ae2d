"""The placements service (skeleton: operations endpoints, outbox relay, migrations)."""

from fastapi import FastAPI

from laborcoop.common.http import ServiceSpec, create_service_app
from laborcoop.placements.settings import PlacementsSettings

SPEC = ServiceSpec(
    title="laborcoop placements",
    version="0.1.0",
    description="The placements service of laborcoop.",
    routers=[],
    migration_package="laborcoop.placements.migrations",
)


def create_app(settings: PlacementsSettings | None = None) -> FastAPI:
    return create_service_app(SPEC, settings or PlacementsSettings())
