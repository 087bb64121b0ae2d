"""The one-line messages for a missing prerequisite, with lookups that simulate a bare machine."""

from pathlib import Path

import pytest

from laborcoop.devstack import prereqs


def fake_bin(directory: Path, *names: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name in names:
        (directory / name).write_text("#!/bin/sh\n")
        (directory / name).chmod(0o755)
    return directory


def lookups(
    tmp_path: Path,
    *,
    on_path: dict[str, str] | None = None,
    pg_dirs: list[Path] | None = None,
    users: tuple[str, ...] = ("postgres",),
    java: str = 'openjdk version "17.0.13" 2024-10-15',
) -> prereqs.Lookups:
    return prereqs.Lookups(
        which=(on_path or {}).get,
        pg_bin_dirs=lambda: pg_dirs or [],
        user_exists=lambda name: name in users,
        java_version_output=lambda _: java,
    )


def test_newest_debian_server_binaries_win(tmp_path: Path) -> None:
    dirs = [
        fake_bin(tmp_path / v / "bin", "pg_ctl", "initdb", "postgres") for v in ["9.6", "16", "15"]
    ]
    dirs.append(fake_bin(tmp_path / "17" / "bin", "psql"))  # a client only
    assert prereqs.pg_bin(lookups(tmp_path, pg_dirs=dirs)) == tmp_path / "16" / "bin"


def test_server_binaries_on_path_are_the_fallback(tmp_path: Path) -> None:
    found = lookups(tmp_path, on_path={"pg_ctl": "/opt/pg/bin/pg_ctl", "initdb": "/x/initdb"})
    assert prereqs.pg_bin(found) == Path("/opt/pg/bin")


def test_no_server_binaries(tmp_path: Path) -> None:
    with pytest.raises(prereqs.Missing) as raised:
        prereqs.require_postgres(lookups(tmp_path), as_root=False)
    assert str(raised.value) == (
        "missing prerequisite: PostgreSQL server binaries (apt-get install postgresql)"
    )


def test_root_needs_the_postgres_user_and_runuser(tmp_path: Path) -> None:
    dirs = [fake_bin(tmp_path / "16" / "bin", "pg_ctl", "initdb")]
    no_user = lookups(tmp_path, pg_dirs=dirs, users=(), on_path={"runuser": "/usr/sbin/runuser"})
    with pytest.raises(prereqs.Missing, match=r"user 'postgres'.*install postgresql"):
        prereqs.require_postgres(no_user, as_root=True)
    no_runuser = lookups(tmp_path, pg_dirs=dirs)
    with pytest.raises(prereqs.Missing, match=r"runuser \(apt-get install util-linux\)"):
        prereqs.require_postgres(no_runuser, as_root=True)
    assert prereqs.require_postgres(no_runuser, as_root=False) == dirs[0]


def test_no_java(tmp_path: Path) -> None:
    with pytest.raises(prereqs.Missing) as raised:
        prereqs.require_java(lookups(tmp_path))
    assert str(raised.value) == (
        "missing prerequisite: java >= 17 (apt-get install openjdk-17-jre-headless)"
    )


def test_old_java_is_named(tmp_path: Path) -> None:
    old = lookups(tmp_path, on_path={"java": "/usr/bin/java"}, java='java version "1.8.0_392"')
    with pytest.raises(prereqs.Missing) as raised:
        prereqs.require_java(old)
    assert str(raised.value) == (
        "missing prerequisite: java >= 17, found '1.8.0_392' "
        "(apt-get install openjdk-17-jre-headless)"
    )


@pytest.mark.parametrize(
    ("output", "major"),
    [
        ('openjdk version "17.0.13" 2024-10-15', 17),
        ('openjdk version "21" 2023-09-19', 21),
        ('java version "1.8.0_392"', 8),
        ('openjdk version "25-ea" 2025-09-16', 25),
        ("no version here", None),
    ],
)
def test_java_major(output: str, major: int | None) -> None:
    assert prereqs.java_major(output) == major


def test_no_maven(tmp_path: Path) -> None:
    with pytest.raises(prereqs.Missing) as raised:
        prereqs.require_mvn(lookups(tmp_path))
    assert str(raised.value) == (
        "missing prerequisite: mvn to fetch the Kafka jars (apt-get install maven)"
    )
    assert prereqs.require_mvn(lookups(tmp_path, on_path={"mvn": "/usr/bin/mvn"})) == "/usr/bin/mvn"
