"""``laborcoop-placements <command>``: the commands every service has, and three of its own.

``import-workers FILE --province CODE`` registers the workers of an NDJSON file for their origin
province, with the importer of ``POST /v1/workers:import`` (same checks, batches, events and
report; no line limit), showing its progress on stderr and printing the report as JSON; it exits
with 1 when a line was rejected. ``rotate-keys [--batch N]`` re-seals every worker not under the
current personal-data key while the service keeps serving, and exits with 1 unless nothing is
left under an old key. ``seed [--workers N]`` loads the demo data (``laborcoop.placements.seed``).
"""

import argparse
import asyncio
import json
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Final

from laborcoop.common import cli
from laborcoop.common.principal import Principal, Role
from laborcoop.common.spec import ServiceContext
from laborcoop.contracts.provinces import is_province_code
from laborcoop.placements import seed
from laborcoop.placements.app import SPEC
from laborcoop.placements.exchange import LabourExchange
from laborcoop.placements.settings import PlacementsSettings
from laborcoop.placements.workers.importing import Importer, ImportReport
from laborcoop.placements.workers.rotation import rotate

CHUNK_BYTES: Final = 1 << 20
Context = ServiceContext[PlacementsSettings]


def _province(code: str) -> str:
    if not is_province_code(code):
        raise argparse.ArgumentTypeError(f"{code!r} is not a province code (GB/T 2260: 430000)")
    return code


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of at least 1")
    return int(text)


def _import_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "file", type=Path, help="NDJSON: one worker a line, as POST /v1/workers takes it"
    )
    parser.add_argument(
        "--province", required=True, type=_province, help="the workers' origin province"
    )


class _FileProgress:
    """The file's chunks, counting the bytes read, and a progress line on stderr."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.size = max(path.stat().st_size, 1)
        self.read = 0

    async def chunks(self) -> AsyncIterator[bytes]:
        handle = await asyncio.to_thread(self.path.open, "rb")
        try:
            while chunk := await asyncio.to_thread(handle.read, CHUNK_BYTES):
                self.read += len(chunk)
                yield chunk
        finally:
            handle.close()

    def show(self, report: ImportReport) -> None:
        share = 100 * self.read // self.size
        print(
            f"\rimport-workers: {share:3d}% {report.lines} lines, {report.accepted} accepted, "
            f"{report.duplicates} duplicates, {report.rejected} rejected",
            end="",
            file=sys.stderr,
            flush=True,
        )


async def _import_workers(context: Context, use: LabourExchange, args: argparse.Namespace) -> None:
    importer = Importer(use.workers, context.settings, context.pool)
    principal = Principal("cli:import-workers", args.province, frozenset({Role.PROVINCE}))
    file = _FileProgress(args.file)
    report = await importer.run(file.chunks(), principal, progress=file.show)
    print(file=sys.stderr)
    print(json.dumps(report.as_dict(), ensure_ascii=False, indent=1))
    if report.rejected:
        raise SystemExit(1)


def _rotate_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--batch", type=_positive, default=500, help="workers re-sealed a transaction (500)"
    )


def _show_rotation(done: int, total: int) -> None:
    print(f"\rrotate-keys: {done}/{total} re-sealed", end="", file=sys.stderr, flush=True)


async def _rotate_keys(context: Context, use: LabourExchange, args: argparse.Namespace) -> None:
    rotation = await rotate(
        context.pool, use.workers.ring, batch=args.batch, progress=_show_rotation
    )
    if rotation.resealed:
        print(file=sys.stderr)
    print(
        f"rotate-keys: {rotation.resealed} re-sealed under key {rotation.key_id}; "
        f"{rotation.left} left under old keys"
    )
    if rotation.left:
        raise SystemExit(1)


IMPORT_WORKERS: Final = cli.service_command(
    SPEC,
    "register the workers of an NDJSON file for their origin province",
    _import_workers,
    arguments=_import_arguments,
)
ROTATE_KEYS: Final = cli.service_command(
    SPEC,
    "re-seal every worker under the current personal-data key (while serving)",
    _rotate_keys,
    arguments=_rotate_arguments,
)

SEED: Final = cli.service_command(
    SPEC,
    "load the demo workers, demands and placements (adds only what is missing)",
    seed.command,
    arguments=seed.arguments,
    migrate_first=True,
)


def main() -> None:
    cli.main(
        SPEC,
        PlacementsSettings,
        default_port=8103,
        extra={"import-workers": IMPORT_WORKERS, "rotate-keys": ROTATE_KEYS, "seed": SEED},
    )
