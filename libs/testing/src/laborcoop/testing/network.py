"""The tests talk to this machine only: a connection to any other address is refused.

The suite's servers, PostgreSQL and Kafka all listen on 127.0.0.1. Code under test that would
reach out (a webhook to a public address, a ping) gets ``ConnectionRefusedError`` at once, as if
nothing listened there, instead of touching the network: a run never depends on it nor sends
anything to it. The guard wraps ``socket.socket.connect``, which asyncio's selector event loop
and the blocking clients use; the session fixture ``loopback_only`` installs it.
"""

import errno
import ipaddress
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

_INTERNET = (socket.AF_INET, socket.AF_INET6)


def _is_local(address: Any) -> bool:
    host = address[0] if isinstance(address, tuple) else address
    try:
        ip = ipaddress.ip_address(str(host).split("%", 1)[0])
    except ValueError:
        return bool(host == "localhost")
    return ip.is_loopback or ip.is_unspecified


class RemoteConnectionRefused(ConnectionRefusedError):
    """A test tried to connect beyond this machine."""


@contextmanager
def loopback_only() -> Iterator[None]:
    """While in the block, ``connect`` to a non-loopback address raises
    :class:`RemoteConnectionRefused` (``connect_ex`` returns ``ECONNREFUSED``)."""
    connect, connect_ex = socket.socket.connect, socket.socket.connect_ex

    def guarded_connect(self: socket.socket, address: Any) -> None:
        if self.family in _INTERNET and not _is_local(address):
            raise RemoteConnectionRefused(
                errno.ECONNREFUSED, f"the tests reach only this machine, not {address}"
            )
        connect(self, address)

    def guarded_connect_ex(self: socket.socket, address: Any) -> int:
        if self.family in _INTERNET and not _is_local(address):
            return errno.ECONNREFUSED
        return connect_ex(self, address)

    socket.socket.connect = guarded_connect  # type: ignore[method-assign,assignment]
    socket.socket.connect_ex = guarded_connect_ex  # type: ignore[method-assign,assignment]
    try:
        yield
    finally:
        socket.socket.connect = connect  # type: ignore[method-assign]
        socket.socket.connect_ex = connect_ex  # type: ignore[method-assign]
