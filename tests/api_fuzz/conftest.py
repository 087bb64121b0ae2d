"""The four services served by real uvicorn servers, for schemathesis to call over HTTP.

Schemathesis drives its requests synchronously (``requests``), so each service runs in its own
thread with its own event loop: its asyncpg pool lives and dies in that loop, and the pytest
session loop is used only to create the fresh databases. Workers are off (no relay, consumers or
scheduler), so a fuzzed request touches nothing but the service's own database.
"""

import asyncio
import socket
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TypeVar

import pytest
import uvicorn
from fastapi import FastAPI

from laborcoop.agreements.app import create_app as create_agreements
from laborcoop.agreements.settings import AgreementsSettings
from laborcoop.common.settings import ServiceSettings
from laborcoop.gateway.app import create_app as create_gateway
from laborcoop.gateway.settings import GatewaySettings
from laborcoop.placements.app import create_app as create_placements
from laborcoop.placements.protection import Keyring
from laborcoop.placements.settings import PlacementsSettings
from laborcoop.registry.app import create_app as create_registry
from laborcoop.registry.settings import RegistrySettings
from laborcoop.testing import Stack, Tokens, settings_for
from laborcoop.testing.databases import Databases

S = TypeVar("S", bound=ServiceSettings)


@dataclass(frozen=True)
class Served:
    """One service reachable at ``url``."""

    name: str
    url: str


class _Server(uvicorn.Server):
    def install_signal_handlers(self) -> None:
        """The pytest process keeps its own signal handlers."""


def _listening_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@contextmanager
def serving(app: FastAPI, sock: socket.socket) -> Iterator[None]:
    """Serve ``app`` on ``sock`` from a thread with its own loop, lifespan included."""
    config = uvicorn.Config(app, loop="asyncio", lifespan="on", log_level="warning", ws="none")
    server = _Server(config)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            asyncio.run(server.serve(sockets=[sock]))
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=run, name=f"uvicorn-{app.title}", daemon=True)
    thread.start()
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError(f"{app.title} did not start: {errors!r}")
        thread.join(0.05)
    try:
        yield
    finally:
        server.should_exit = True
        thread.join()
        sock.close()


@dataclass(frozen=True)
class FuzzedSystem:
    registry: Served
    agreements: Served
    gateway: Served
    placements: Served


def placements_keys() -> dict[str, str]:
    """A fresh key ring for the placements service, as its settings' fields."""
    rendered = Keyring.generate("k1").render_settings().items()
    return {name.removeprefix("LABORCOOP_").lower(): value for name, value in rendered}


def _url(sock: socket.socket) -> str:
    host, port = sock.getsockname()
    return f"http://{host}:{port}"


@pytest.fixture(scope="module")
async def fuzzed(stack: Stack, databases: Databases, tokens: Tokens) -> AsyncIterator[FuzzedSystem]:
    """Registry, agreements, gateway (forwarding to the first two) and placements."""
    prefix = "fuzz."
    socks = {name: _listening_socket() for name in ("registry", "agreements", "gateway", "pl")}
    urls = {name: _url(sock) for name, sock in socks.items()}

    async def settings(cls: type[S], package: str, **extra: object) -> S:
        database_url = await databases.fresh(package)
        return settings_for(
            cls, stack, topic_prefix=prefix, database_url=database_url, run_workers=False, **extra
        )

    keys = tokens.keyset()
    apps = {
        "registry": create_registry(
            await settings(RegistrySettings, "laborcoop.registry.migrations"), keys=keys
        ),
        "agreements": create_agreements(
            await settings(AgreementsSettings, "laborcoop.agreements.migrations"), keys=keys
        ),
        "gateway": create_gateway(
            await settings(
                GatewaySettings,
                "laborcoop.gateway.migrations",
                registry_url=urls["registry"],
                agreements_url=urls["agreements"],
                placements_url=urls["pl"],
                # The fuzzer is one client sending as fast as it can: the limit is tested on
                # its own (services/gateway/tests/test_rate_limit.py), not here.
                client_rate_per_s=1_000_000.0,
                client_rate_burst=1_000_000,
                # A stream ends after this: the fuzzer reads each answer whole.
                stream_max_lifetime_s=0.2,
                stream_heartbeat_s=0.1,
            ),
            keys=keys,
        ),
        "pl": create_placements(
            await settings(
                PlacementsSettings, "laborcoop.placements.migrations", **placements_keys()
            ),
            keys=keys,
        ),
    }
    with (
        serving(apps["registry"], socks["registry"]),
        serving(apps["agreements"], socks["agreements"]),
        serving(apps["gateway"], socks["gateway"]),
        serving(apps["pl"], socks["pl"]),
    ):
        yield FuzzedSystem(
            registry=Served("registry", urls["registry"]),
            agreements=Served("agreements", urls["agreements"]),
            gateway=Served("gateway", urls["gateway"]),
            placements=Served("placements", urls["pl"]),
        )
