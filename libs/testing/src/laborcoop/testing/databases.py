"""Fresh databases on the test stack, cloned from a migrated template per set of packages."""

from uuid import uuid4

import asyncpg

from laborcoop.common import migrations
from laborcoop.common.db import connect
from laborcoop.testing import Stack


class Databases:
    """Fresh databases per test, cloned from a migrated template per migration package."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.run_id = uuid4().hex[:8]
        self.templates: dict[tuple[str, ...], str] = {}
        self.created: list[str] = []

    async def _admin(self) -> "asyncpg.Connection[asyncpg.Record]":
        return await connect(self.stack.dsn("postgres"))

    async def _create(self, name: str, template: str | None = None) -> None:
        clause = f' TEMPLATE "{template}"' if template else ""
        admin = await self._admin()
        try:
            await admin.execute(f'CREATE DATABASE "{name}"{clause}')
        finally:
            await admin.close()
        self.created.append(name)

    async def _template(self, packages: tuple[str, ...]) -> str:
        if packages not in self.templates:
            name = f"tmpl_{self.run_id}_{len(self.templates)}"
            await self._create(name)
            conn = await connect(self.stack.dsn(name))
            try:
                await migrations.migrate(conn, *packages)
            finally:
                await conn.close()
            self.templates[packages] = name
        return self.templates[packages]

    async def fresh(self, *packages: str) -> str:
        """The DSN of a new database migrated with the common tables and ``packages``."""
        template = await self._template(packages)
        name = f"t_{self.run_id}_{uuid4().hex[:10]}"
        await self._create(name, template)
        return self.stack.dsn(name)

    async def drop_all(self) -> None:
        admin = await self._admin()
        try:
            for name in reversed(self.created):
                await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()
