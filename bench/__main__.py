"""Run the benchmarks: ``python -m bench [name ...]`` (``make bench`` runs them all)."""

import asyncio
import sys
from collections.abc import Awaitable, Callable

from bench import (
    gateway_forward,
    gateway_read,
    matching,
    rebuild,
    registry_write,
    relay,
    webhooks,
    worker_import,
    write_to_view,
)
from laborcoop.testing import Stack

BENCHMARKS: dict[str, Callable[[Stack], Awaitable[bool]]] = {
    "relay": relay.run,
    "registry_write": registry_write.run,
    "gateway_forward": gateway_forward.run,
    "gateway_read": gateway_read.run,
    "write_to_view": write_to_view.run,
    "matching": matching.run,
    "worker_import": worker_import.run,
    "webhooks": webhooks.run,
    "rebuild": rebuild.run,
}


async def main(names: list[str]) -> int:
    stack = Stack.from_env()
    results = [await BENCHMARKS[name](stack) for name in names or list(BENCHMARKS)]
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1:])))
