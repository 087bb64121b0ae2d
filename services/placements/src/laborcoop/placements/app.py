"""The placements service: the labour exchange of workers, demands, matching and placements."""

from zoneinfo import ZoneInfo

from laborcoop.common.app import app_factory
from laborcoop.common.spec import ServiceContext, ServiceSpec, Worker
from laborcoop.placements.consumers import AGREEMENTS, BRANDS
from laborcoop.placements.demands.api import router as demands_router
from laborcoop.placements.demands.scheduler import Expiry
from laborcoop.placements.demands.service import Demands
from laborcoop.placements.exchange import LabourExchange
from laborcoop.placements.keys import check_keys
from laborcoop.placements.matching.api import router as matching_router
from laborcoop.placements.matching.service import Matching
from laborcoop.placements.placements.api import router as placements_router
from laborcoop.placements.placements.service import Placements
from laborcoop.placements.protection import Keyring
from laborcoop.placements.settings import PlacementsSettings
from laborcoop.placements.workers.api import router as workers_router
from laborcoop.placements.workers.import_api import router as import_router
from laborcoop.placements.workers.service import Workers


def _exchange(context: ServiceContext[PlacementsSettings]) -> LabourExchange:
    settings = context.settings
    ring = Keyring.from_settings(settings)
    timezone = ZoneInfo(settings.timezone)
    return LabourExchange(
        workers=Workers(ring, timezone, context.clock),
        demands=Demands(timezone, context.clock),
        placements=Placements(timezone, context.clock),
        matching=Matching(settings.matching_candidates),
    )


def _expiry(context: ServiceContext[PlacementsSettings], use: LabourExchange) -> Worker:
    return Expiry(use.demands, context.pool, context.settings)


SPEC = ServiceSpec(
    name="placements",
    title="laborcoop placements",
    version="1.0.0",
    description="The labour exchange (人岗供需精准对接): worker records kept by their origin "
    "province (personal data sealed at rest, masked, every read in the clear audited), job "
    "demands of receiving provinces, matching, and placements through to the return home. "
    "Events on `laborcoop.placements.workers`, `.demands` and `.placements`, never with "
    "personal data.",
    routers=[workers_router, import_router, demands_router, placements_router, matching_router],
    migration_package="laborcoop.placements.migrations",
    build=_exchange,
    subscriptions=[BRANDS, AGREEMENTS],
    check=check_keys,
    workers=[_expiry],
    openapi_tags=[
        {"name": "workers", "description": "Worker records (personal data protected)"},
        {"name": "demands", "description": "Job demands of receiving provinces"},
        {"name": "placements", "description": "Placements, from the proposal to the return home"},
        {"name": "matching", "description": "Workers for a demand, demands for a worker"},
        {"name": "operations", "description": "Health and metrics"},
    ],
)


create_app = app_factory(SPEC, PlacementsSettings)
"""The app of this service (settings from the environment unless given)."""
