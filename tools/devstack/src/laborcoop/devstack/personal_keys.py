"""The placements service's personal-data keys for a local stack: generated once per data
directory, kept beside the data, handed to the service's processes.

The service refuses to start without ``LABORCOOP_PERSONAL_DATA_KEYS``,
``LABORCOOP_PERSONAL_DATA_KEY_ID`` and ``LABORCOOP_BLIND_INDEX_KEY``, and with keys that do not
open what its database holds. So the first start of a stack writes random ones to
``<stack dir>/services/<service>-keys.env`` (mode 0600) and every later start reads the same file:
the data stays readable across restarts, and `make clean` deletes both together. The format is
the service's own (``Keyring.generate().render_settings()``): ``k1:<32 random bytes, base64>``
and a 32-byte index key in base64; it is written here, without importing the service. A variable
already set (non-empty) in the environment wins over the file's.
"""

import base64
import contextlib
import os
import secrets
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Final

from laborcoop.devstack.procs import Failed

KEYS: Final = "LABORCOOP_PERSONAL_DATA_KEYS"
KEY_ID: Final = "LABORCOOP_PERSONAL_DATA_KEY_ID"
INDEX_KEY: Final = "LABORCOOP_BLIND_INDEX_KEY"
VARIABLES: Final = (KEYS, KEY_ID, INDEX_KEY)
FIRST_KEY_ID: Final = "k1"
KEY_BYTES: Final = 32

HEADER: Final = """\
# Personal-data keys of the placements service for the local stack in this directory, written
# by laborcoop-devstack on its first start. The database of this stack holds values sealed with
# them: keep this file as long as that data (`make clean` deletes both). Development only.
"""


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def generate() -> dict[str, str]:
    """New random keys, as the service reads them."""
    personal, index = secrets.token_bytes(KEY_BYTES), secrets.token_bytes(KEY_BYTES)
    while index == personal:  # the service refuses an index key equal to a personal-data key
        index = secrets.token_bytes(KEY_BYTES)
    return {
        KEYS: f"{FIRST_KEY_ID}:{_b64(personal)}",
        KEY_ID: FIRST_KEY_ID,
        INDEX_KEY: _b64(index),
    }


def render(values: Mapping[str, str]) -> str:
    return HEADER + "".join(f"{name}={values[name]}\n" for name in VARIABLES)


def parse(text: str) -> dict[str, str]:
    """``NAME=value`` lines; blank lines and ``#`` comments are skipped."""
    values = {}
    for line in text.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            name, _, value = stripped.partition("=")
            values[name.strip()] = value.strip()
    return values


def _write_new(path: Path) -> bool:
    """Write new keys to ``path`` unless it exists: False when another process was first.

    The file is complete before it has its name (written to a private temporary file, then
    linked), so a concurrent reader never sees half of it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")  # mode 0600
    try:
        with os.fdopen(fd, "w") as out:
            out.write(render(generate()))
        os.link(temporary, path)
    except FileExistsError:
        return False
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
    return True


def read(path: Path) -> dict[str, str]:
    """The keys in ``path`` (kept private: a file others may read is made 0600)."""
    if path.stat().st_mode & 0o077:
        path.chmod(0o600)
    values = parse(path.read_text())
    missing = [name for name in VARIABLES if not values.get(name)]
    if missing:
        raise Failed(
            f"{path} does not set {', '.join(missing)}. Restore it: the keys sealed the "
            "personal data of this stack's database (without any, `make clean` starts over)"
        )
    return {name: values[name] for name in VARIABLES}


def ensure(path: Path) -> tuple[dict[str, str], bool]:
    """The keys of ``path``, generated first if it does not exist; True when generated now."""
    created = not path.exists() and _write_new(path)
    return read(path), created


def environment(keys: Mapping[str, str], env: Mapping[str, str]) -> dict[str, str]:
    """``env`` with each key variable it does not set (or sets empty) taken from ``keys``."""
    merged = dict(env)
    for name, value in keys.items():
        if not merged.get(name):
            merged[name] = value
    return merged
