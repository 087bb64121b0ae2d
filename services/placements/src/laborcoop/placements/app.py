"""The placements service (skeleton: operations endpoints, outbox relay, migrations)."""

from typing import Unpack

from fastapi import FastAPI

from laborcoop.common.app import Seams, create_service_app
from laborcoop.common.spec import ServiceSpec, no_use_cases
from laborcoop.placements.settings import PlacementsSettings

SPEC = ServiceSpec[PlacementsSettings, None](
    name="placements",
    title="laborcoop placements",
    version="0.1.0",
    description="The placements service of laborcoop.",
    routers=[],
    migration_package="laborcoop.placements.migrations",
    build=no_use_cases,
)


def create_app(settings: PlacementsSettings | None = None, **seams: Unpack[Seams]) -> FastAPI:
    return create_service_app(SPEC, settings or PlacementsSettings(), **seams)
