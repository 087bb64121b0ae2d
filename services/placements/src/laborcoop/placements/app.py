"""The placements service: the labour exchange of workers, demands, matching and placements."""

from zoneinfo import ZoneInfo

from laborcoop.common.app import app_factory
from laborcoop.common.spec import ServiceContext, ServiceSpec
from laborcoop.placements.exchange import LabourExchange
from laborcoop.placements.keys import check_keys
from laborcoop.placements.protection import Keyring
from laborcoop.placements.settings import PlacementsSettings
from laborcoop.placements.workers.api import router as workers_router
from laborcoop.placements.workers.service import Workers


def _exchange(context: ServiceContext[PlacementsSettings]) -> LabourExchange:
    settings = context.settings
    ring = Keyring.from_settings(settings)
    timezone = ZoneInfo(settings.timezone)
    return LabourExchange(workers=Workers(ring, timezone, context.clock))


SPEC = ServiceSpec(
    name="placements",
    title="laborcoop placements",
    version="1.0.0",
    description="The labour exchange (人岗供需精准对接): worker records kept by their origin "
    "province (personal data sealed at rest, masked, every read in the clear audited), job "
    "demands of receiving provinces, matching, and placements through to the return home. "
    "Events on `laborcoop.placements.workers`, `.demands` and `.placements`, never with "
    "personal data.",
    routers=[workers_router],
    migration_package="laborcoop.placements.migrations",
    build=_exchange,
    check=check_keys,
    openapi_tags=[
        {"name": "workers", "description": "Worker records (personal data protected)"},
        {"name": "operations", "description": "Health and metrics"},
    ],
)


create_app = app_factory(SPEC, PlacementsSettings)
"""The app of this service (settings from the environment unless given)."""
