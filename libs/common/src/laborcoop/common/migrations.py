"""Ordered SQL migrations per service, recorded with checksums and applied under an advisory lock.

Files are ``NNNN_description.sql`` in the service's ``migrations`` package; each runs in its own
transaction. An applied file whose content changed is an error: write a new file instead.
The common tables (outbox, inbox, idempotency keys) come first, from this package's own folder.
"""

import hashlib
import logging
import re
import zlib
from dataclasses import dataclass
from importlib import resources
from importlib.abc import Traversable

from laborcoop.common.db import Connection

log = logging.getLogger(__name__)

_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")
_LOCK_KEY = zlib.crc32(b"laborcoop.migrations")


class MigrationError(RuntimeError):
    pass


@dataclass(frozen=True, slots=True)
class Migration:
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def load(*packages: str) -> list[Migration]:
    """The migrations of ``packages`` in order: each package's files sorted by number."""
    found: list[Migration] = []
    for package in packages:
        files = sorted(
            (f for f in resources.files(package).iterdir() if _NAME.match(f.name)),
            key=lambda f: f.name,
        )
        found.extend(Migration(f"{package}:{f.name}", _read(f)) for f in files)
    return found


def _read(file: Traversable) -> str:
    return file.read_text(encoding="utf-8")


COMMON_PACKAGE = "laborcoop.common.sql"


async def migrate(conn: Connection, *packages: str) -> list[str]:
    """Apply what is pending; returns the names applied. Safe to run from several replicas."""
    wanted = load(COMMON_PACKAGE, *packages)
    await conn.execute("SELECT pg_advisory_lock($1)", _LOCK_KEY)
    try:
        await conn.execute(
            """CREATE TABLE IF NOT EXISTS schema_migrations (
                   name text PRIMARY KEY,
                   checksum text NOT NULL,
                   applied_at timestamptz NOT NULL DEFAULT now())"""
        )
        applied = {
            r["name"]: r["checksum"]
            for r in await conn.fetch("SELECT name, checksum FROM schema_migrations")
        }
        done: list[str] = []
        for migration in wanted:
            if migration.name in applied:
                _check_unchanged(migration, applied[migration.name])
                continue
            async with conn.transaction():
                await conn.execute("SET LOCAL lock_timeout = '10s'")
                await conn.execute(migration.sql)
                await conn.execute(
                    "INSERT INTO schema_migrations (name, checksum) VALUES ($1, $2)",
                    migration.name,
                    migration.checksum,
                )
            log.info("migration applied", extra={"migration": migration.name})
            done.append(migration.name)
        return done
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", _LOCK_KEY)


def _check_unchanged(migration: Migration, recorded_checksum: str) -> None:
    if migration.checksum != recorded_checksum:
        raise MigrationError(
            f"migration {migration.name} was changed after it was applied; add a new file instead"
        )


async def pending(conn: Connection, *packages: str) -> list[str]:
    """Migrations not applied, or changed since (``/readyz`` is not ready while any remain)."""
    exists = await conn.fetchval("SELECT to_regclass('schema_migrations') IS NOT NULL")
    rows = await conn.fetch("SELECT name, checksum FROM schema_migrations") if exists else []
    applied = {r["name"]: r["checksum"] for r in rows}
    return [m.name for m in load(COMMON_PACKAGE, *packages) if applied.get(m.name) != m.checksum]
