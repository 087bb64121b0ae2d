from laborcoop.common import cli
from laborcoop.placements.app import SPEC
from laborcoop.placements.settings import PlacementsSettings


def main() -> None:
    cli.main(SPEC, PlacementsSettings, default_port=8103)
