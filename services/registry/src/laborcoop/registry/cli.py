from laborcoop.common import cli
from laborcoop.registry.app import SPEC
from laborcoop.registry.settings import RegistrySettings


def main() -> None:
    cli.main(SPEC, RegistrySettings, default_port=8101)
