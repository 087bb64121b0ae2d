"""The agreements service: inter-province cooperation agreements with multi-party signing."""

from zoneinfo import ZoneInfo

from fastapi import FastAPI

from laborcoop.agreements.api import router
from laborcoop.agreements.consumers import BRANDS
from laborcoop.agreements.scheduler import Scheduler
from laborcoop.agreements.service import Agreements
from laborcoop.agreements.settings import AgreementsSettings
from laborcoop.common.http import ServiceSpec, Worker, WorkerContext, create_service_app


async def _build_use_cases(app: FastAPI) -> None:
    settings: AgreementsSettings = app.state.settings
    app.state.agreements = Agreements(settings, ZoneInfo(settings.timezone), app.state.clock)


def _scheduler(context: WorkerContext) -> Worker:
    settings = context.settings
    assert isinstance(settings, AgreementsSettings)
    use = Agreements(settings, ZoneInfo(settings.timezone), context.clock)
    return Scheduler(use, context.pool, settings.scheduler_interval_s)


SPEC = ServiceSpec(
    title="laborcoop agreements",
    version="1.0.0",
    description="Inter-province cooperation agreements (劳务协作协议): drafting, multi-party "
    "signing, amendments, activation and expiry. Events on `laborcoop.agreements.agreements`.",
    routers=[router],
    migration_package="laborcoop.agreements.migrations",
    subscriptions=[BRANDS],
    on_startup=[_build_use_cases],
    workers=[_scheduler],
    openapi_tags=[
        {"name": "agreements", "description": "Cooperation agreements"},
        {"name": "operations", "description": "Health and metrics"},
    ],
)


def create_app(settings: AgreementsSettings | None = None) -> FastAPI:
    return create_service_app(SPEC, settings or AgreementsSettings())
