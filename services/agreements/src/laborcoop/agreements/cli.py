from laborcoop.agreements.app import SPEC
from laborcoop.agreements.seed import seed
from laborcoop.agreements.service import Agreements
from laborcoop.agreements.settings import AgreementsSettings
from laborcoop.common import cli
from laborcoop.common.db import Pool


async def _seed(pool: Pool, agreements: Agreements) -> str:
    """The four 2024 conference agreements, signed and active (idempotent)."""
    return f"{await seed(pool, agreements)} agreement(s)"


def main() -> None:
    seed_command = cli.seed_command(SPEC, "load the 2024 conference agreements", _seed)
    cli.main(SPEC, AgreementsSettings, default_port=8102, extra={"seed": seed_command})
