from laborcoop.agreements.app import SPEC
from laborcoop.agreements.settings import AgreementsSettings
from laborcoop.common import cli


def main() -> None:
    cli.main(SPEC, AgreementsSettings, default_port=8102)
