"""`laborcoop-devstack stack up|down|status|kafka-start|kafka-stop` and
`laborcoop-devstack services start|seed|stop|status` (also `python -m laborcoop.devstack`)."""

import argparse
import sys
from collections.abc import Callable, Sequence

from laborcoop.devstack import config as stack_config
from laborcoop.devstack import prereqs
from laborcoop.devstack.config import StackConfig
from laborcoop.devstack.kafka import Kafka
from laborcoop.devstack.launcher import Launcher
from laborcoop.devstack.postgres import Postgres
from laborcoop.devstack.procs import Failed


def stack_up(config: StackConfig, lookups: prereqs.Lookups) -> None:
    """Check every prerequisite before starting anything, then PostgreSQL, then Kafka."""
    bin_dir = prereqs.require_postgres(lookups, as_root=config.pg.as_root)
    kafka = Kafka(config, prereqs.require_java(lookups))
    if not kafka.libs_current():
        prereqs.require_mvn(lookups)
    Postgres(config, bin_dir).up()
    kafka.start(lambda: prereqs.require_mvn(lookups), wait_if_running=False)


def stack_down(config: StackConfig, lookups: prereqs.Lookups) -> None:
    Kafka(config).stop()
    postgres = Postgres(config, None)
    if postgres.pid() is not None:
        postgres.bin_dir = prereqs.require_postgres(lookups, as_root=config.pg.as_root)
        postgres.stop()


def stack_status(config: StackConfig, lookups: prereqs.Lookups) -> None:
    print(Postgres(config, None).status())
    print(Kafka(config).status())


def kafka_start(config: StackConfig, lookups: prereqs.Lookups) -> None:
    Kafka(config, prereqs.require_java(lookups)).start(lambda: prereqs.require_mvn(lookups))


def kafka_stop(config: StackConfig, lookups: prereqs.Lookups) -> None:
    Kafka(config).stop()


STACK: dict[str, Callable[[StackConfig, prereqs.Lookups], None]] = {
    "up": stack_up,
    "down": stack_down,
    "status": stack_status,
    "kafka-start": kafka_start,
    "kafka-stop": kafka_stop,
}
SERVICES_COMMANDS: dict[str, Callable[[Launcher], None]] = {
    "start": Launcher.start,
    "seed": Launcher.seed,
    "stop": Launcher.stop,
    "status": lambda launcher: print("\n".join(launcher.status())),
}


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="laborcoop-devstack", description=__doc__)
    groups = top.add_subparsers(dest="group", required=True)
    groups.add_parser("stack", help="PostgreSQL and Kafka").add_argument("command", choices=STACK)
    groups.add_parser("services", help="the services as processes").add_argument(
        "command", choices=SERVICES_COMMANDS
    )
    return top


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        config = stack_config.from_env()
        if args.group == "stack":
            STACK[args.command](config, prereqs.Lookups())
        else:
            SERVICES_COMMANDS[args.command](Launcher(config))
    except prereqs.Missing as error:
        print(error, file=sys.stderr)
        return 1
    except (Failed, ValueError) as error:
        print(f"{args.group}: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0
