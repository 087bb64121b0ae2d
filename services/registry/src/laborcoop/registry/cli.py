import argparse

from laborcoop.common import cli
from laborcoop.common.spec import opened
from laborcoop.registry.app import SPEC
from laborcoop.registry.seed import seed
from laborcoop.registry.settings import RegistrySettings


async def seed_command(settings: RegistrySettings, args: argparse.Namespace) -> None:
    """Load the 2024 conference brands and their figures (idempotent)."""
    await cli.migrate(settings, SPEC)
    async with opened(SPEC, settings) as (context, registry):
        brands, reports = await seed(context.pool, registry)
    print(f"seed: {brands} brand(s) and {reports} indicator report(s) added")


def main() -> None:
    cli.main(
        SPEC,
        RegistrySettings,
        default_port=8101,
        extra={"seed": cli.ExtraCommand("load the 2024 conference demo brands", seed_command)},
    )
