import argparse

from laborcoop.agreements.app import SPEC
from laborcoop.agreements.seed import seed
from laborcoop.agreements.settings import AgreementsSettings
from laborcoop.common import cli
from laborcoop.common.spec import opened


async def seed_command(settings: AgreementsSettings, args: argparse.Namespace) -> None:
    """Load the four 2024 conference agreements, signed and active (idempotent)."""
    await cli.migrate(settings, SPEC)
    async with opened(SPEC, settings) as (context, agreements):
        added = await seed(context.pool, agreements)
    print(f"seed: {added} agreement(s) added")


def main() -> None:
    cli.main(
        SPEC,
        AgreementsSettings,
        default_port=8102,
        extra={"seed": cli.ExtraCommand("load the 2024 conference agreements", seed_command)},
    )
