"""The console entry point shared by every service: ``laborcoop-<service> <command>``.

Commands: ``serve`` (API, plus relay and consumers unless ``LABORCOOP_RUN_WORKERS=false``),
``migrate``, ``relay`` (outbox relay only) and ``consume`` (consumers only) — the last two let
Kubernetes scale workers apart from the API. A service may add its own commands, each made by
:func:`service_command` (``seed``, placements' ``import-workers`` and ``rotate-keys``).
"""

import argparse
import asyncio
import signal
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from dataclasses import dataclass
from typing import Any, Final, Generic, TypeVar

import asyncpg

from laborcoop.common import dlq, migrations, serving
from laborcoop.common.app import create_service_app
from laborcoop.common.db import Pool, connect
from laborcoop.common.deps import ServiceState
from laborcoop.common.logging import configure_logging
from laborcoop.common.settings import ServiceSettings
from laborcoop.common.spec import ServiceContext, ServiceSpec, opened
from laborcoop.common.telemetry import configure_tracing
from laborcoop.common.workers import Workers, build_workers

S = TypeVar("S", bound=ServiceSettings)
U = TypeVar("U")
SpecOf = ServiceSpec[Any, Any]

Command = Callable[[S, argparse.Namespace], Coroutine[Any, Any, None]]


@dataclass(frozen=True, slots=True)
class ExtraCommand(Generic[S]):
    """A service's own command, e.g. ``seed``; ``arguments`` adds its options to the parser."""

    help: str
    run: Command[S]
    arguments: Callable[[argparse.ArgumentParser], None] | None = None


def service_command(
    spec: ServiceSpec[S, U],
    help: str,
    work: Callable[[ServiceContext[S], U, argparse.Namespace], Awaitable[None]],
    *,
    arguments: Callable[[argparse.ArgumentParser], None] | None = None,
    migrate_first: bool = False,
) -> ExtraCommand[S]:
    """A service's own command that works on the service as ``serve`` builds it: (migrate when
    ``migrate_first``,) open the pool and the use cases with ``opened`` (so the service's
    start-up ``check`` passes first: placements' keys must open what the database holds), then
    run ``work`` with them and the parsed options. ``arguments`` adds its options."""

    async def run(settings: S, args: argparse.Namespace) -> None:
        if migrate_first:
            await migrate(settings, spec)
        async with opened(spec, settings) as (context, use):
            await work(context, use, args)

    return ExtraCommand(help, run, arguments)


def seed_command(
    spec: ServiceSpec[S, U], help: str, load: Callable[[Pool, U], Awaitable[str]]
) -> ExtraCommand[S]:
    """A ``seed`` command: migrate, open the service's pool and use cases as ``serve`` does, run
    ``load`` (idempotent: it adds only what is missing) and print what it says it added."""

    async def seed(context: ServiceContext[S], use: U, args: argparse.Namespace) -> None:
        added = await load(context.pool, use)
        print(f"seed: {added} added")

    return service_command(spec, help, seed, migrate_first=True)


async def migrate(settings: ServiceSettings, spec: SpecOf) -> list[str]:
    conn = await connect(settings.database_url.get_secret_value())
    try:
        return await migrations.migrate(conn, spec.migration_package)
    finally:
        await conn.close()


async def _run_until_signalled(workers: Workers) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, workers.halt)
    await workers.run()


async def _workers(settings: S, spec: ServiceSpec[S, U], *, relay: bool) -> None:
    """``relay``: the outbox relay alone; otherwise what ``consume`` runs (consumers,
    housekeeping, the service's workers). The same builder as ``serve``'s."""
    async with opened(spec, settings) as (context, use):
        workers = build_workers(spec, context, use, relay=relay, consume=not relay)
        await _run_until_signalled(workers)


async def _dead_letters(settings: ServiceSettings, args: argparse.Namespace) -> None:
    if args.action == "list":
        dlq.print_letters(await dlq.dead_letters(settings, args.group))
        return
    count = await dlq.redrive(settings, args.group, dry_run=args.dry_run)
    verb = "would re-drive" if args.dry_run else "re-drove"
    print(f"dlq: {verb} {count} record(s) of {args.group}")


def _parser(
    spec: SpecOf, default_port: int, extra: Mapping[str, ExtraCommand[S]]
) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=f"laborcoop-{spec.name}")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve the HTTP API (and workers)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=default_port)
    serve.add_argument("--migrate", action="store_true", help="apply migrations first")
    commands.add_parser("migrate", help="apply pending database migrations")
    commands.add_parser("relay", help="run only the outbox relay")
    commands.add_parser("consume", help="run only the event consumers and schedulers")
    groups = ", ".join(s.group for s in spec.subscriptions) or "none in this service"
    dlq_parser = commands.add_parser("dlq", help="list or re-drive dead-lettered events")
    dlq_parser.add_argument("action", choices=["list", "redrive"])
    dlq_parser.add_argument("--group", required=True, help=f"the consumer group ({groups})")
    dlq_parser.add_argument("--dry-run", action="store_true", help="redrive: only count")
    for name, command in extra.items():
        sub = commands.add_parser(name, help=command.help)
        if command.arguments is not None:
            command.arguments(sub)
    return parser


def _serve(spec: ServiceSpec[S, U], settings: S, args: argparse.Namespace) -> None:
    if args.migrate:
        asyncio.run(migrate(settings, spec))
    app = create_service_app(spec, settings)

    def halt_workers() -> None:  # the relay and consumers finish their batch while requests do
        state = getattr(app.state, "service", None)
        if isinstance(state, ServiceState):
            state.workers.halt()

    serving.serve(app, settings, host=args.host, port=args.port, on_shutdown=halt_workers)


async def _migrate_command(spec: SpecOf, settings: ServiceSettings) -> None:
    applied = await migrate(settings, spec)
    print(f"{len(applied)} migration(s) applied")


def main(
    spec: ServiceSpec[S, U],
    settings_factory: Callable[[], S],
    *,
    default_port: int,
    extra: Mapping[str, ExtraCommand[S]] | None = None,
    argv: list[str] | None = None,
) -> None:
    extra = extra or {}
    args = _parser(spec, default_port, extra).parse_args(argv)
    settings = settings_factory()
    configure_logging(settings.log_level)
    configure_tracing(
        settings.service_name, settings.otlp_endpoint, sample_ratio=settings.trace_sample_ratio
    )
    if args.command == "serve":
        _serve(spec, settings, args)
        return
    match args.command:
        case "migrate":
            command = _migrate_command(spec, settings)
        case "dlq":
            command = _dead_letters(settings, args)
        case "relay" | "consume":
            command = _workers(settings, spec, relay=args.command == "relay")
        case name:
            command = extra[name].run(settings, args)
    _run(args.command, command)


DATABASE_REFUSED: Final = (
    asyncpg.PostgresConnectionError,
    asyncpg.InvalidCatalogNameError,
    asyncpg.InvalidAuthorizationSpecificationError,
)
"""What opening the database raises when it is absent or refuses the credentials."""


def _run(name: str, command: Awaitable[None]) -> None:
    """Run a command; one that cannot reach or open the database (or another address, or a
    file) ends with one line saying so, not a traceback. The line holds the error only, never
    the database URL or its password."""

    async def run() -> None:
        await command

    try:
        asyncio.run(run())
    except DATABASE_REFUSED as error:
        raise SystemExit(f"{name}: cannot open the database: {error}") from None
    except OSError as error:  # refused or unresolvable addresses, unreadable files
        raise SystemExit(f"{name}: {error}") from None
