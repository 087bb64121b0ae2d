"""The placements service (skeleton: operations endpoints, outbox relay, migrations)."""

from laborcoop.common.app import app_factory
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


create_app = app_factory(SPEC, PlacementsSettings)
"""The app of this service (settings from the environment unless given)."""
