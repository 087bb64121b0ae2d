"""The programs the stack needs, each missing one reported in one line naming its Debian package.

Lookups are injected (`which`, the list of /usr/lib/postgresql/*/bin, the user lookup, the java
version) so that the messages can be tested without uninstalling anything.
"""

import os
import pwd
import re
import shutil
import subprocess
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

Which = Callable[[str], str | None]


class Missing(Exception):
    """A prerequisite is not installed; str() is the one line for the terminal."""

    def __str__(self) -> str:
        return f"missing prerequisite: {self.args[0]}"


def _user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def _java_version_output(java: str) -> str:
    result = subprocess.run(  # noqa: S603 - a path found by which, no shell
        [java, "-version"], capture_output=True, text=True, check=False
    )
    return result.stderr + result.stdout


@dataclass(frozen=True)
class Lookups:
    which: Which = shutil.which
    pg_bin_dirs: Callable[[], Iterable[Path]] = lambda: Path("/usr/lib/postgresql").glob("*/bin")
    user_exists: Callable[[str], bool] = _user_exists
    java_version_output: Callable[[str], str] = _java_version_output


def _executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def _version_key(directory: Path) -> tuple[int, ...]:
    """/usr/lib/postgresql/16/bin -> (16,): the newest major version wins, 9.6 < 10 < 16."""
    return tuple(int(part) for part in re.findall(r"\d+", directory.parent.name))


def pg_bin(lookups: Lookups) -> Path:
    """Debian's newest server binaries, else pg_ctl and initdb on PATH."""
    candidates = [
        d for d in lookups.pg_bin_dirs() if _executable(d / "pg_ctl") and _executable(d / "initdb")
    ]
    if candidates:
        return max(candidates, key=_version_key)
    pg_ctl = lookups.which("pg_ctl")
    if pg_ctl and lookups.which("initdb"):
        return Path(pg_ctl).parent
    raise Missing("PostgreSQL server binaries (apt-get install postgresql)")


def require_postgres(lookups: Lookups, *, as_root: bool) -> Path:
    """The server binaries' directory; as root also `postgres` and runuser to run them with."""
    directory = pg_bin(lookups)
    if as_root:
        if not lookups.user_exists("postgres"):
            raise Missing(
                "system user 'postgres' to run PostgreSQL as root (apt-get install postgresql)"
            )
        if not lookups.which("runuser"):
            raise Missing("runuser (apt-get install util-linux)")
    return directory


def java_major(output: str) -> int | None:
    """The major version in `java -version` output: "17.0.2" -> 17, "1.8.0_392" -> 8."""
    match = re.search(r' version "([^"]*)"', output)
    if not match:
        return None
    parts = match.group(1).split(".")
    major = parts[1] if parts[0] == "1" and len(parts) > 1 else parts[0]
    digits = re.match(r"\d+", major)
    return int(digits.group()) if digits else None


def require_java(lookups: Lookups) -> str:
    java = lookups.which("java")
    if not java:
        raise Missing("java >= 17 (apt-get install openjdk-17-jre-headless)")
    output = lookups.java_version_output(java)
    major = java_major(output)
    if major is None or major < 17:
        match = re.search(r' version "([^"]*)"', output)
        found = match.group(1) if match else "unknown"
        raise Missing(f"java >= 17, found '{found}' (apt-get install openjdk-17-jre-headless)")
    return java


def require_mvn(lookups: Lookups) -> str:
    mvn = lookups.which("mvn")
    if not mvn:
        raise Missing("mvn to fetch the Kafka jars (apt-get install maven)")
    return mvn
