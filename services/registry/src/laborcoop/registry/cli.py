from laborcoop.common import cli
from laborcoop.common.db import Pool
from laborcoop.registry.app import SPEC
from laborcoop.registry.seed import seed
from laborcoop.registry.service import Registry
from laborcoop.registry.settings import RegistrySettings


async def _seed(pool: Pool, registry: Registry) -> str:
    """The 2024 conference brands and their figures (idempotent)."""
    brands, reports = await seed(pool, registry)
    return f"{brands} brand(s) and {reports} indicator report(s)"


def main() -> None:
    seed_command = cli.seed_command(SPEC, "load the 2024 conference demo brands", _seed)
    cli.main(SPEC, RegistrySettings, default_port=8101, extra={"seed": seed_command})
