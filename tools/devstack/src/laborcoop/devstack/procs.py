"""Small process and file helpers shared by the stack and the launcher."""

import contextlib
import os
import signal
import socket
import time
from pathlib import Path

from laborcoop.devstack.config import HOST


class Failed(Exception):
    """A step failed; str() is the one line for the terminal (it names the log to read)."""


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def cmdline(pid: int) -> str:
    try:
        return (
            Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        )
    except OSError:
        return ""


def read_pid(file: Path) -> int | None:
    """The pid in the first line of `file` if that process is alive."""
    try:
        first = file.read_text().splitlines()[0].strip()
    except (OSError, IndexError):
        return None
    if not first.isdigit() or not alive(int(first)):
        return None
    return int(first)


def children(pid: int) -> list[int]:
    """The direct children of `pid` (what `pkill -P` would signal)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(stat.parent.name))
    return found


def terminate(pid: int, *, grace_s: float) -> bool:
    """SIGTERM to `pid` and its children, SIGKILL after `grace_s`; True if it had to kill."""
    for target in [*children(pid), pid]:
        with contextlib.suppress(ProcessLookupError):
            os.kill(target, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    if not alive(pid):
        return False
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    return True


def port_in_use(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex((HOST, port)) == 0


def write_if_changed(file: Path, content: str) -> bool:
    """Write only if the content changed, so mtimes stay stable; True if it wrote."""
    with contextlib.suppress(OSError):
        if file.read_text() == content:
            return False
    tmp = file.with_name(file.name + ".tmp")
    tmp.write_text(content)
    tmp.replace(file)
    return True
