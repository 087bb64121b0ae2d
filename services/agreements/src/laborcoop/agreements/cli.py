import argparse
from zoneinfo import ZoneInfo

from laborcoop.agreements.app import SPEC
from laborcoop.agreements.seed import seed
from laborcoop.agreements.service import Agreements
from laborcoop.agreements.settings import AgreementsSettings
from laborcoop.common import cli
from laborcoop.common.db import create_pool
from laborcoop.common.settings import ServiceSettings


async def seed_command(settings: ServiceSettings, args: argparse.Namespace) -> None:
    """Load the four 2024 conference agreements, signed and active (idempotent)."""
    assert isinstance(settings, AgreementsSettings)
    await cli.migrate(settings, SPEC)
    pool = await create_pool(settings.database_url.get_secret_value(), min_size=1, max_size=2)
    try:
        added = await seed(pool, Agreements(settings, ZoneInfo(settings.timezone)))
    finally:
        await pool.close()
    print(f"seed: {added} agreement(s) added")


def main() -> None:
    cli.main(
        SPEC,
        AgreementsSettings,
        default_port=8102,
        extra={"seed": cli.ExtraCommand("load the 2024 conference agreements", seed_command)},
    )
