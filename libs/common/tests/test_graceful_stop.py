"""Graceful shutdown of ``serve`` in-process: the server tells its caller when shutdown begins,
answers the request in flight, and bounds the wait by ``shutdown_grace_s``; the background work
gets what remains of the same period, counted from its halt. The whole process under SIGTERM on
the real stack: tests/reliability/test_graceful_shutdown.py."""

import asyncio
import socket
import time

import httpx
from fastapi import FastAPI

from laborcoop.common.serving import GracefulServer, server_config
from laborcoop.common.settings import ServiceSettings
from laborcoop.common.workers import Workers

GUARD_S = 20


class _Slow:
    """A worker that needs ``seconds`` to finish after it is asked to stop."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.stopping = asyncio.Event()
        self.finished = False

    def stop(self) -> None:
        self.stopping.set()

    async def run(self) -> None:
        await self.stopping.wait()
        await asyncio.sleep(self.seconds)
        self.finished = True


async def test_workers_get_the_rest_of_the_period_counted_from_their_halt() -> None:
    quick, slow = _Slow(0.05), _Slow(30)
    workers = Workers(others=[quick, slow])
    workers.start()
    workers.halt()
    await asyncio.sleep(0.3)  # the HTTP drain took this long
    started = time.monotonic()
    await workers.stop(within_s=0.5)
    assert time.monotonic() - started < 0.45  # 0.5 from the halt, not from stop()
    assert quick.finished
    assert not slow.finished
    await asyncio.sleep(0)
    assert all(task.done() for task in workers.tasks)


def _app(release: asyncio.Event) -> FastAPI:
    app = FastAPI()

    @app.get("/slow")
    async def slow() -> dict[str, str]:
        await release.wait()
        return {"answer": "late but whole"}

    return app


async def _server(
    grace_s: int, release: asyncio.Event, calls: list[float]
) -> tuple[GracefulServer, "asyncio.Task[None]", int]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = int(sock.getsockname()[1])
    settings = ServiceSettings(shutdown_grace_s=grace_s)
    config = server_config(_app(release), settings, host="127.0.0.1", port=port)
    server = GracefulServer(config, lambda: calls.append(time.monotonic()))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        assert not task.done(), "the server did not start"
        await asyncio.sleep(0.01)
    return server, task, port


async def test_a_request_in_flight_is_answered_after_shutdown_began() -> None:
    release, calls = asyncio.Event(), list[float]()
    server, task, port = await _server(5, release, calls)
    async with httpx.AsyncClient(timeout=GUARD_S) as client:
        request = asyncio.create_task(client.get(f"http://127.0.0.1:{port}/slow"))
        await asyncio.sleep(0.2)  # the request is being handled
        server.should_exit = True  # what SIGTERM does
        while not calls:  # noqa: ASYNC110 - the server's own hook, polled as uvicorn does
            await asyncio.sleep(0.01)
        with socket.socket() as probe:  # no new connection is accepted meanwhile
            assert probe.connect_ex(("127.0.0.1", port)) != 0
        release.set()
        answer = await request
    await asyncio.wait_for(task, GUARD_S)
    assert answer.status_code == 200
    assert answer.json() == {"answer": "late but whole"}
    assert answer.headers["connection"] == "close"


async def test_a_request_still_running_after_the_grace_period_is_cancelled() -> None:
    release, calls = asyncio.Event(), list[float]()
    server, task, port = await _server(1, release, calls)
    async with httpx.AsyncClient(timeout=GUARD_S) as client:
        request = asyncio.create_task(client.get(f"http://127.0.0.1:{port}/slow"))
        await asyncio.sleep(0.2)
        server.should_exit = True
        started = time.monotonic()
        await asyncio.wait_for(task, GUARD_S)
        assert time.monotonic() - started < 3
        outcome = await asyncio.gather(request, return_exceptions=True)
    answer = outcome[0]
    assert isinstance(answer, httpx.HTTPError) or (
        isinstance(answer, httpx.Response) and answer.status_code >= 500
    ), answer
