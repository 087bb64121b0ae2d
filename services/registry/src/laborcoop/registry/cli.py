import argparse

from laborcoop.common import cli
from laborcoop.common.db import create_pool
from laborcoop.common.settings import ServiceSettings
from laborcoop.registry.app import SPEC
from laborcoop.registry.seed import seed
from laborcoop.registry.service import Registry
from laborcoop.registry.settings import RegistrySettings


async def seed_command(settings: ServiceSettings, args: argparse.Namespace) -> None:
    """Load the 2024 conference brands and their figures (idempotent)."""
    await cli.migrate(settings, SPEC)
    pool = await create_pool(settings.database_url.get_secret_value(), min_size=1, max_size=2)
    try:
        brands, reports = await seed(pool, Registry(settings))
    finally:
        await pool.close()
    print(f"seed: {brands} brand(s) and {reports} indicator report(s) added")


def main() -> None:
    cli.main(
        SPEC,
        RegistrySettings,
        default_port=8101,
        extra={"seed": cli.ExtraCommand("load the 2024 conference demo brands", seed_command)},
    )
