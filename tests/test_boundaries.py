"""The architecture's boundaries hold: import contracts (.importlinter) and the event registry.

``lint-imports`` checks that services do not import each other, that libraries import no
service, that contracts stand alone, and that domain modules do no I/O, even transitively. The
checker itself is shown to fail on a deliberately bad import in a temporary module.
"""

import importlib
import pkgutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

import laborcoop.contracts
from laborcoop.contracts.events import EventPayload, all_specs

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports() -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own venv's checker, fixed arguments
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@contextmanager
def temporary_module(relative: str, source: str) -> Iterator[None]:
    """A module written into the source tree for one check, removed afterwards."""
    path = ROOT / relative
    created = [p for p in reversed(path.relative_to(ROOT).parents) if not (ROOT / p).exists()]
    path.parent.mkdir(parents=True, exist_ok=True)
    packages = [ROOT / directory / "__init__.py" for directory in created]
    for init in packages:
        init.write_text("")
    path.write_text(source)
    try:
        yield
    finally:
        path.unlink()
        for init in packages:
            init.unlink()
        for directory in reversed(created):
            (ROOT / directory).rmdir()


def test_the_import_contracts_hold() -> None:
    result = lint_imports()
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("where", "source", "broken"),
    [
        (
            "services/registry/src/laborcoop/registry/probe_{}.py",
            "import laborcoop.agreements.domain\n",
            "Services do not import each other",
        ),
        (
            "libs/common/src/laborcoop/common/probe_{}.py",
            "import laborcoop.registry.domain\n",
            "Libraries do not import services",
        ),
        (
            "libs/contracts/src/laborcoop/contracts/probe_{}.py",
            "import laborcoop.common.db\n",
            "Contracts stand alone",
        ),
        (
            "services/registry/src/laborcoop/registry/probe_{}/domain.py",
            "import laborcoop.common.db\n",
            "Domain modules do no I/O",
        ),
    ],
)
def test_the_checker_fails_on_a_bad_import(where: str, source: str, broken: str) -> None:
    with temporary_module(where.format(uuid.uuid4().hex[:8]), source):
        result = lint_imports()
    assert result.returncode != 0
    assert f"{broken}" in result.stdout
    assert "BROKEN" in result.stdout


def _payload_classes() -> set[type[EventPayload]]:
    """Every event payload class defined in any module of the contracts package."""
    found: set[type[EventPayload]] = set()
    for module in pkgutil.walk_packages(laborcoop.contracts.__path__, "laborcoop.contracts."):
        for value in vars(importlib.import_module(module.name)).values():
            if (
                isinstance(value, type)
                and issubclass(value, EventPayload)
                and value is not EventPayload
                and "event_type" in vars(value)
            ):
                found.add(value)
    return found


def test_every_event_type_module_is_registered() -> None:
    """An event module that ``laborcoop.contracts`` does not import would be unknown to the
    relay and to consumers; importing the package alone must register every payload class."""
    registered = {spec.payload for spec in all_specs()}
    defined = _payload_classes()
    assert defined, "no payload classes found"
    assert defined <= registered, sorted(c.__name__ for c in defined - registered)
    in_a_fresh_interpreter = subprocess.run(
        [
            sys.executable,
            "-c",
            "import laborcoop.contracts as c; from laborcoop.contracts.events import all_specs;"
            "print(len(all_specs()))",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert int(in_a_fresh_interpreter.stdout) == len(registered)
