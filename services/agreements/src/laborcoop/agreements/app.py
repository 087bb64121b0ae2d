"""The agreements service: inter-province cooperation agreements with multi-party signing."""

from zoneinfo import ZoneInfo

from laborcoop.agreements.api import router
from laborcoop.agreements.consumers import BRANDS
from laborcoop.agreements.scheduler import Scheduler
from laborcoop.agreements.service import Agreements
from laborcoop.agreements.settings import AgreementsSettings
from laborcoop.common.app import app_factory
from laborcoop.common.spec import ServiceContext, ServiceSpec, Worker


def _agreements(context: ServiceContext[AgreementsSettings]) -> Agreements:
    settings = context.settings
    return Agreements(settings, ZoneInfo(settings.timezone), context.clock)


def _scheduler(context: ServiceContext[AgreementsSettings], use: Agreements) -> Worker:
    return Scheduler(use, context.pool, context.settings.scheduler_interval_s)


SPEC = ServiceSpec(
    name="agreements",
    title="laborcoop agreements",
    version="1.0.0",
    description="Inter-province cooperation agreements (劳务协作协议): drafting, multi-party "
    "signing, amendments, activation and expiry. Events on `laborcoop.agreements.agreements`.",
    routers=[router],
    migration_package="laborcoop.agreements.migrations",
    build=_agreements,
    subscriptions=[BRANDS],
    workers=[_scheduler],
    openapi_tags=[
        {"name": "agreements", "description": "Cooperation agreements"},
        {"name": "operations", "description": "Health and metrics"},
    ],
)


create_app = app_factory(SPEC, AgreementsSettings)
"""The app of this service (settings from the environment unless given)."""
