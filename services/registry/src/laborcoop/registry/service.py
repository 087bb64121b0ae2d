"""Registry use cases: each is one transaction that saves the aggregate and its events."""

from datetime import UTC, datetime

from laborcoop.common.auth import Principal, Role, require_role
from laborcoop.common.db import Pool
from laborcoop.common.errors import Conflict, Forbidden
from laborcoop.common.outbox import add_events
from laborcoop.common.settings import ServiceSettings
from laborcoop.registry import repository
from laborcoop.registry.domain import Brand
from laborcoop.registry.schemas import BrandCreate


async def register_brand(
    pool: Pool, settings: ServiceSettings, principal: Principal, command: BrandCreate
) -> Brand:
    require_role(principal, Role.PROVINCE)
    if not principal.acts_for(command.province):
        raise Forbidden("a province registers only its own brands")
    brand = Brand.register(
        name=command.name,
        province=command.province,
        category=command.category,
        now=datetime.now(UTC),
    )
    async with pool.acquire() as conn, conn.transaction():
        try:
            await repository.insert(conn, brand)
        except repository.DuplicateName as exc:
            raise Conflict(f"brand {command.name!r} already exists in {command.province}") from exc
        await add_events(conn, settings, brand.pending_events)
    return brand
