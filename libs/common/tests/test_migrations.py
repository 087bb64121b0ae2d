"""The migrations runner: ordered, recorded with checksums, a changed applied file refused."""

import sys
from collections.abc import Iterator
from pathlib import Path
from uuid import uuid4

import pytest

from laborcoop.common import migrations
from laborcoop.common.db import connect
from laborcoop.testing import Stack
from laborcoop.testing.databases import Databases


@pytest.fixture
def package(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    name = f"mig_{uuid4().hex[:8]}"
    folder = tmp_path / name
    folder.mkdir()
    (folder / "__init__.py").write_text("")
    (folder / "0001_things.sql").write_text("CREATE TABLE things (id int PRIMARY KEY);")
    (folder / "0002_more.sql").write_text("ALTER TABLE things ADD COLUMN label text;")
    (folder / "notes.txt").write_text("not a migration")
    sys.path.insert(0, str(tmp_path))
    yield name, folder
    sys.path.remove(str(tmp_path))
    sys.modules.pop(name, None)


async def test_applies_in_order_once_and_refuses_a_changed_file(
    stack: Stack, databases: Databases, package: tuple[str, Path]
) -> None:
    name, folder = package
    conn = await connect(await databases.fresh())
    try:
        applied = await migrations.migrate(conn, name)
        assert applied == [f"{name}:0001_things.sql", f"{name}:0002_more.sql"]
        assert await migrations.migrate(conn, name) == []
        assert await migrations.pending(conn, name) == []
        await conn.execute("INSERT INTO things (id, label) VALUES (1, 'x')")

        (folder / "0003_index.sql").write_text("CREATE INDEX things_label ON things (label);")
        assert await migrations.pending(conn, name) == [f"{name}:0003_index.sql"]
        assert await migrations.migrate(conn, name) == [f"{name}:0003_index.sql"]

        (folder / "0001_things.sql").write_text("CREATE TABLE things (id bigint PRIMARY KEY);")
        assert await migrations.pending(conn, name) == [f"{name}:0001_things.sql"]
        with pytest.raises(migrations.MigrationError, match=r"0001_things\.sql was changed"):
            await migrations.migrate(conn, name)
    finally:
        await conn.close()


async def test_a_failing_migration_leaves_nothing_behind(
    stack: Stack, databases: Databases, package: tuple[str, Path]
) -> None:
    name, folder = package
    (folder / "0003_broken.sql").write_text("CREATE TABLE other (id int); SELECT nonsense();")
    conn = await connect(await databases.fresh())
    try:
        with pytest.raises(Exception, match="nonsense"):
            await migrations.migrate(conn, name)
        assert await conn.fetchval("SELECT to_regclass('other')") is None
        assert await migrations.pending(conn, name) == [f"{name}:0003_broken.sql"]
    finally:
        await conn.close()
