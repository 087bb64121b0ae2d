"""The agreements service (skeleton: operations endpoints, outbox relay, migrations)."""

from fastapi import FastAPI

from laborcoop.agreements.settings import AgreementsSettings
from laborcoop.common.http import ServiceSpec, create_service_app

SPEC = ServiceSpec(
    title="laborcoop agreements",
    version="0.1.0",
    description="The agreements service of laborcoop.",
    routers=[],
    migration_package="laborcoop.agreements.migrations",
)


def create_app(settings: AgreementsSettings | None = None) -> FastAPI:
    return create_service_app(SPEC, settings or AgreementsSettings())
