#!/usr/bin/env python3
"""Wait until a Kafka broker answers ApiVersions and Metadata requests.

Stdlib only.  Usage:

    python3 deploy/local/kafka_ready.py 127.0.0.1 59092 --timeout 60 [--pid PID]

Exit 0 once the broker returns a successful ApiVersions response and a
Metadata response listing at least one broker; exit 1 with one line on
stderr after the timeout (or as soon as --pid is given and that process
has exited).
"""

from __future__ import annotations

import argparse
import os
import socket
import struct
import sys
import time

API_METADATA = 3
API_VERSIONS = 18
CLIENT_ID = b"laborcoop-kafka-ready"
# Kafka 4 removed Metadata v0-v3 (KIP-896); v4..v8 are the non-flexible
# versions this script encodes.
METADATA_MIN, METADATA_MAX = 4, 8


class NotReady(Exception):
    """The broker answered, but not (yet) the way a ready broker does."""


class Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def take(self, fmt: str):
        size = struct.calcsize(fmt)
        if self.pos + size > len(self.data):
            raise NotReady("truncated response")
        values = struct.unpack_from(fmt, self.data, self.pos)
        self.pos += size
        return values[0] if len(values) == 1 else values

    def string(self) -> str | None:
        length = self.take(">h")
        if length < 0:
            return None
        if self.pos + length > len(self.data):
            raise NotReady("truncated response")
        raw = self.data[self.pos : self.pos + length]
        self.pos += length
        return raw.decode("utf-8", "replace")


def recv_exact(sock: socket.socket, size: int) -> bytes:
    chunks = []
    while size:
        chunk = sock.recv(size)
        if not chunk:
            raise NotReady("connection closed by broker")
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def call(sock: socket.socket, api_key: int, version: int, corr: int, body: bytes) -> Reader:
    header = struct.pack(">hhih", api_key, version, corr, len(CLIENT_ID)) + CLIENT_ID
    payload = header + body
    sock.sendall(struct.pack(">i", len(payload)) + payload)
    (size,) = struct.unpack(">i", recv_exact(sock, 4))
    reader = Reader(recv_exact(sock, size))
    if reader.take(">i") != corr:
        raise NotReady("correlation id mismatch")
    return reader


def probe(host: str, port: int, io_timeout: float) -> str:
    with socket.create_connection((host, port), timeout=io_timeout) as sock:
        sock.settimeout(io_timeout)

        # ApiVersions v0: empty body; response: error_code, [api_key, min, max].
        resp = call(sock, API_VERSIONS, 0, 1, b"")
        error = resp.take(">h")
        if error != 0:
            raise NotReady(f"ApiVersions error code {error}")
        ranges = {}
        for _ in range(resp.take(">i")):
            key, lo, hi = resp.take(">hhh")
            ranges[key] = (lo, hi)
        if API_METADATA not in ranges:
            raise NotReady("broker does not advertise Metadata")
        lo, hi = ranges[API_METADATA]
        version = max(METADATA_MIN, lo)
        if version > min(METADATA_MAX, hi):
            raise NotReady(f"no common Metadata version (broker supports {lo}-{hi})")

        # Metadata v4..v8: topics = null (all topics), allow_auto_topic_creation
        # (v4+), then include_cluster/topic_authorized_operations (v8 only).
        body = struct.pack(">ib", -1, 0)
        if version >= 8:
            body += struct.pack(">bb", 0, 0)
        resp = call(sock, API_METADATA, version, 2, body)
        resp.take(">i")  # throttle_time_ms (v3+)
        brokers = []
        for _ in range(resp.take(">i")):
            node_id = resp.take(">i")
            bhost = resp.string()
            bport = resp.take(">i")
            resp.string()  # rack (v1+)
            brokers.append(f"{node_id}@{bhost}:{bport}")
        cluster_id = resp.string()
        if not brokers:
            raise NotReady("metadata lists no broker yet")
        return f"kafka ready on {host}:{port}: brokers {', '.join(brokers)}, cluster {cluster_id}"


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("host")
    parser.add_argument("port", type=int)
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds (default 60)")
    parser.add_argument("--pid", type=int, help="give up early if this process exits")
    args = parser.parse_args(argv)

    deadline = time.monotonic() + args.timeout
    last = "no attempt made"
    while True:
        try:
            print(probe(args.host, args.port, io_timeout=5.0))
            return 0
        except (OSError, NotReady) as exc:
            last = str(exc) or type(exc).__name__
        if args.pid is not None and not pid_alive(args.pid):
            print(
                f"kafka not ready on {args.host}:{args.port}: process {args.pid} exited ({last})",
                file=sys.stderr,
            )
            return 1
        if time.monotonic() >= deadline:
            print(
                f"kafka not ready on {args.host}:{args.port} after {args.timeout:g}s: {last}",
                file=sys.stderr,
            )
            return 1
        time.sleep(0.5)


if __name__ == "__main__":
    sys.exit(main())
