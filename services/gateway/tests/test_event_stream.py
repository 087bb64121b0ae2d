"""``GET /v1/events/stream`` over a real socket: each caller receives exactly the events of the
log it may receive, in log order, resumes with ``Last-Event-ID`` without a gap or a repeat,
backfills from ``since``, filters by type; idle streams carry heartbeats; a client's streams are
bounded; a stream ends at its lifetime and at once when the gateway shuts down.

The gateway runs as ``serve`` runs it (uvicorn with the services' configuration, its lifespan, the
shutdown hook that halts the workers): httpx's in-process transport collects a whole response
before handing it over, so it cannot show a stream that never ends. Events are put into the log
as the ``gateway.events`` consumer puts them, except in the end-to-end test, where they come
from Kafka through that consumer."""

import asyncio
import socket
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client import REGISTRY

from laborcoop.common.db import connect
from laborcoop.common.deps import state_of
from laborcoop.common.kafka import ensure_topics, new_producer
from laborcoop.common.serving import GracefulServer, server_config
from laborcoop.common.unit_of_work import unit_of_work
from laborcoop.contracts import topics
from laborcoop.contracts.envelope import CloudEvent
from laborcoop.contracts.events import new_event, spec_for
from laborcoop.gateway.app import SPEC, create_app
from laborcoop.gateway.events import log
from laborcoop.gateway.identity.domain import parse_roles
from laborcoop.gateway.settings import GatewaySettings
from laborcoop.gateway.stream.streams import Draining, OpenStreams, StreamsExhausted
from laborcoop.gateway.uses import GatewayUses
from laborcoop.testing import FreshApps, Tokens, eventually
from services.gateway.tests.story import GUANGDONG, HUNAN, SHANGHAI, at, demand, story

STREAM = "/v1/events/stream"
WAIT_S = 20.0
"""How long a test waits for what must come before it fails (never a measure of speed)."""
DEMANDS = "cn.laborcoop.placements.demand.*"
BRAND_REGISTERED = "cn.laborcoop.registry.brand.registered.v1"


@dataclass
class Frame:
    """One dispatched block of the stream: an event, or the fields and comments it held."""

    id: str | None = None
    data: list[str] = field(default_factory=list)
    retry: str | None = None
    comments: list[str] = field(default_factory=list)

    @property
    def event(self) -> CloudEvent:
        return CloudEvent.model_validate_json("\n".join(self.data))


class Reader:
    """The frames of one open stream, parsed as the EventSource algorithm parses lines."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self._lines = response.aiter_lines()
        self.ended = False

    async def next(self) -> Frame | None:
        """The next block up to a blank line; None when the stream ended."""
        frame = Frame()
        async for line in self._lines:
            if line == "":
                return frame
            name, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if name == "":
                frame.comments.append(value)
            elif name == "id":
                frame.id = value
            elif name == "data":
                frame.data.append(value)
            elif name == "retry":
                frame.retry = value
        self.ended = True
        return None

    async def events(self, count: int) -> list[CloudEvent]:
        """The next ``count`` events (heartbeats skipped)."""

        async def read() -> list[CloudEvent]:
            got: list[CloudEvent] = []
            while len(got) < count:
                frame = await self.next()
                assert frame is not None, f"the stream ended after {len(got)} of {count} events"
                if frame.data:
                    assert frame.id == frame.event.id
                    got.append(frame.event)
            return got

        return await asyncio.wait_for(read(), WAIT_S)

    async def until_end(self) -> list[Frame]:
        async def read() -> list[Frame]:
            frames = []
            while (frame := await self.next()) is not None:
                frames.append(frame)
            return frames

        return await asyncio.wait_for(read(), WAIT_S)


@dataclass
class Served:
    app: FastAPI
    url: str
    settings: GatewaySettings
    tokens: Tokens
    server: GracefulServer
    task: "asyncio.Task[None]"

    async def append(self, events: Iterable[CloudEvent]) -> None:
        """Into the log as the ``gateway.events`` consumer appends them."""
        conn = await connect(self.settings.database_url.get_secret_value())
        try:
            for event in events:
                async with conn.transaction():
                    await log.SUBSCRIPTION.handlers[event.type](event)(conn)
        finally:
            await conn.close()

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.url, timeout=WAIT_S)

    @asynccontextmanager
    async def stream(self, headers: dict[str, str], **params: Any) -> AsyncIterator[Reader]:
        async with (
            self.client() as client,
            client.stream("GET", STREAM, headers=headers, params=params) as response,
        ):
            assert response.status_code == 200, (await response.aread()).decode()
            reader = Reader(response)
            first = await asyncio.wait_for(reader.next(), WAIT_S)
            assert first is not None
            assert first.retry is not None
            yield reader

    async def get(self, headers: dict[str, str], **params: Any) -> httpx.Response:
        """A request that is refused (a stream would never end)."""
        async with self.client() as client:
            return await client.get(STREAM, headers=headers, params=params)


Serve = Callable[..., AbstractAsyncContextManager[Served]]


@pytest.fixture
def serve(fresh_apps: FreshApps) -> Serve:
    """The gateway with ``overrides`` of its settings, served by uvicorn on 127.0.0.1 as
    ``serve`` serves it (its lifespan, workers off unless the overrides say)."""

    @asynccontextmanager
    async def start(**overrides: Any) -> AsyncIterator[Served]:
        settings = await fresh_apps.settings(
            GatewaySettings,
            SPEC.migration_package,
            **{"run_workers": False, "stream_heartbeat_s": 5.0, **overrides},
        )
        app = fresh_apps.app(create_app, settings)
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.bind(("127.0.0.1", 0))
        port = listener.getsockname()[1]
        config = server_config(app, settings, host="127.0.0.1", port=port)

        def halt_workers() -> None:  # as ``serve`` does when its shutdown begins
            state_of(app).workers.halt()

        server = GracefulServer(config, on_shutdown=halt_workers)
        task = asyncio.create_task(server.serve(sockets=[listener]))

        async def started() -> bool:
            return server.started or task.done()

        try:
            await eventually(started)
            assert not task.done(), "the server did not start"
            url = f"http://127.0.0.1:{port}"
            yield Served(app, url, settings, fresh_apps.tokens, server, task)
        finally:
            server.should_exit = True
            await task
            listener.close()

    return start


def event(n: int, *provinces: str, when: datetime | None = None) -> CloudEvent:
    """A demand posted by the first of ``provinces``, concerning all of them."""
    return new_event(
        demand(UUID(int=n), provinces[0], provinces[0][:2] + "0100"),
        subject=str(UUID(int=n)),
        version=1,
        provinces=list(provinces),
        time=when or at("2025-03-01"),
    )


def ids(events: Sequence[CloudEvent]) -> list[str]:
    return [e.id for e in events]


def concerning(province: str, events: Iterable[CloudEvent]) -> list[CloudEvent]:
    return [e for e in events if province in e.province_codes]


# -- resume, backfill, live -------------------------------------------------------------------


async def test_resume_with_last_event_id_yields_exactly_the_missed_events(serve: Serve) -> None:
    async with serve() as gateway:
        hunan = gateway.tokens.province(HUNAN)
        async with gateway.stream(hunan) as stream:  # from the head: only what comes next
            first = [event(1, HUNAN), event(2, GUANGDONG), event(3, HUNAN, GUANGDONG)]
            await gateway.append(first)
            received = await stream.events(2)
        assert ids(received) == ids(concerning(HUNAN, first))

        missed = [event(n, HUNAN if n % 3 else GUANGDONG) for n in range(10, 40)]
        await gateway.append(missed)  # while the client is away
        resumed = {"Last-Event-ID": received[-1].id}
        async with gateway.stream({**hunan, **resumed}) as stream:
            live = [event(50, GUANGDONG, HUNAN), event(51, SHANGHAI), event(52, HUNAN)]
            await gateway.append(live)
            expected = concerning(HUNAN, missed + live)
            again = await stream.events(len(expected))
        assert ids(again) == ids(expected)  # in log order, none twice, none missing

        # resumed from the middle of what it had: from there on, again exactly
        middle = {"Last-Event-ID": again[5].id}
        async with gateway.stream({**hunan, **middle}) as stream:
            assert ids(await stream.events(len(expected) - 6)) == ids(expected[6:])


async def test_since_backfills_from_a_time_and_then_follows(serve: Serve) -> None:
    told = story().events
    since = at("2025-01-01")
    start = next(i for i, e in enumerate(told) if e.time >= since)
    async with serve() as gateway:
        await gateway.append(told)
        ministry = gateway.tokens.ministry()
        async with gateway.stream(ministry, since="2025-01-01T02:00:00Z") as stream:
            backfill = await stream.events(len(told) - start)
            new = event(1, HUNAN)
            await gateway.append([new])
            live = await stream.events(1)
        assert ids(backfill) == ids(told[start:])
        assert {e.id for e in told if e.time >= since} <= set(ids(backfill))
        assert ids(live) == [new.id]

        # Last-Event-ID wins over since: a reconnecting client repeats its URL
        resumed = {"Last-Event-ID": backfill[-2].id}
        async with gateway.stream({**ministry, **resumed}, since="2025-01-01T02:00:00Z") as s:
            assert ids(await s.events(2)) == [backfill[-1].id, live[0].id]


async def test_types_select_exactly_or_by_a_trailing_wildcard(serve: Serve) -> None:
    told = story().events
    wanted = [e for e in told if e.type.startswith(DEMANDS[:-1]) or e.type == BRAND_REGISTERED]
    async with serve() as gateway:
        await gateway.append(told)
        ministry = gateway.tokens.ministry()
        params = {"since": "2000-01-01T00:00:00+08:00"}
        async with gateway.stream(ministry, types=f"{DEMANDS},{BRAND_REGISTERED}", **params) as s:
            received = await s.events(len(wanted))
            new = event(7, SHANGHAI)
            await gateway.append([new])  # a demand: the next event it receives
            assert ids(await s.events(1)) == [new.id]
        assert ids(received) == ids(wanted)
        assert {e.type for e in received} == {
            BRAND_REGISTERED,
            "cn.laborcoop.placements.demand.posted.v1",
            "cn.laborcoop.placements.demand.closed.v1",
        }
        repeated = [("types", DEMANDS), ("types", BRAND_REGISTERED)]
        async with (
            gateway.client() as client,
            client.stream(
                "GET", STREAM, headers=ministry, params=[*repeated, *params.items()]
            ) as response,
        ):
            reader = Reader(response)
            await reader.next()  # retry:
            assert ids(await reader.events(len(wanted))) == ids(wanted)


# -- who receives what ------------------------------------------------------------------------


async def test_a_province_receives_its_events_only_and_the_ministry_all(serve: Serve) -> None:
    told = story().events
    since = "2000-01-01T00:00:00Z"
    sentinel = event(99, HUNAN, GUANGDONG, SHANGHAI)
    async with serve() as gateway:
        await gateway.append(told)
        tokens = gateway.tokens
        async with (
            gateway.stream(tokens.province(HUNAN), since=since) as hunan,
            gateway.stream(tokens.province(GUANGDONG), since=since) as guangdong,
            gateway.stream(tokens.province(SHANGHAI), since=since) as shanghai,
            gateway.stream(tokens.ministry(), since=since) as ministry,
        ):
            # the private events of one province never reach another's stream
            for code, stream in ((HUNAN, hunan), (GUANGDONG, guangdong), (SHANGHAI, shanghai)):
                expected = concerning(code, told)
                assert expected, code
                received = await stream.events(len(expected))
                assert ids(received) == ids(expected), code
                assert all(code in e.province_codes for e in received)
            assert ids(await ministry.events(len(told))) == ids(told)
            # and nothing else was on its way: the next event of each is the sentinel
            await gateway.append([sentinel])
            for stream in (hunan, guangdong, shanghai, ministry):
                assert ids(await stream.events(1)) == [sentinel.id]


async def test_provinces_only_narrow(serve: Serve) -> None:
    told = story().events
    since = "2000-01-01T00:00:00Z"
    async with serve() as gateway:
        await gateway.append(told)
        tokens = gateway.tokens
        shanghai_only = concerning(SHANGHAI, told)
        async with gateway.stream(tokens.ministry(), since=since, provinces=SHANGHAI) as stream:
            assert ids(await stream.events(len(shanghai_only))) == ids(shanghai_only)
            both = event(2, GUANGDONG, SHANGHAI)
            await gateway.append([event(1, HUNAN), both])
            assert ids(await stream.events(1)) == [both.id]
        async with gateway.stream(tokens.province(HUNAN), since=since, provinces=HUNAN) as s:
            hunan = concerning(HUNAN, told)
            assert ids(await s.events(len(hunan))) == ids(hunan)

        refused = await gateway.get(tokens.province(HUNAN), provinces=f"{HUNAN},{GUANGDONG}")
        assert refused.status_code == 403, refused.text
        assert refused.headers["content-type"] == "application/problem+json"
        assert "provinces" in refused.json()["detail"]
        unknown = await gateway.get(tokens.ministry(), provinces="999999")
        assert unknown.status_code == 422
        assert [e["field"] for e in unknown.json()["errors"]] == ["provinces"]


async def test_who_may_not_stream_and_what_is_malformed_are_problems(serve: Serve) -> None:
    async with serve() as gateway:
        guangdong = event(2, GUANGDONG)
        await gateway.append([event(1, HUNAN), guangdong])
        tokens = gateway.tokens
        observer = await gateway.get(tokens.observer())
        assert observer.status_code == 403
        assert observer.headers["content-type"] == "application/problem+json"
        anonymous = await gateway.get({})
        assert anonymous.status_code == 401
        assert anonymous.headers["content-type"] == "application/problem+json"

        def fields(response: httpx.Response) -> list[str]:
            assert response.status_code == 422, response.text
            assert response.headers["content-type"] == "application/problem+json"
            return [e["field"] for e in response.json()["errors"]]

        ministry = tokens.ministry()
        for types in (
            "cn.laborcoop.placements.demand.posted.v9",  # unknown exact type
            "cn.laborcoop.*.demand.posted.v1",  # wildcard in the middle
            "cn.laborcoop.nothing.*",  # a prefix of no type
            f"{DEMANDS},not-a-type",
        ):
            assert fields(await gateway.get(ministry, types=types)) == ["types"], types
        for since in ("2025-03-01", "1740787200", "2025-03-01T08:00:00", "yesterday"):
            assert fields(await gateway.get(ministry, since=since)) == ["since"], since
        unknown = await gateway.get({**ministry, "Last-Event-ID": "no-such-event"})
        assert fields(unknown) == ["Last-Event-ID"]
        # 广东's event is as unknown to 湖南 as one that never was
        foreign = {**tokens.province(HUNAN), "Last-Event-ID": guangdong.id}
        assert fields(await gateway.get(foreign)) == ["Last-Event-ID"]


# -- the connection ---------------------------------------------------------------------------


async def test_an_idle_stream_carries_heartbeats(serve: Serve) -> None:
    async with (
        serve(stream_heartbeat_s=0.2, stream_retry_s=2.5) as gateway,
        gateway.client() as client,
        client.stream("GET", STREAM, headers=gateway.tokens.ministry()) as response,
    ):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        assert response.headers["cache-control"] == "no-store"
        assert response.headers["x-accel-buffering"] == "no"
        reader = Reader(response)
        first = await reader.next()
        assert first is not None
        assert first.retry == "2500"
        for _ in range(3):
            frame = await asyncio.wait_for(reader.next(), WAIT_S)
            assert frame is not None
            assert frame.comments == ["heartbeat"]
            assert not frame.data


async def test_a_client_holds_a_bounded_number_of_streams(serve: Serve) -> None:
    async with serve(stream_max_per_client=2, stream_retry_s=4) as gateway:
        hunan = gateway.tokens.province(HUNAN)
        async with gateway.stream(hunan), gateway.stream(hunan):
            refused = await gateway.get(hunan)
            assert refused.status_code == 429
            assert refused.headers["retry-after"] == "4"
            assert refused.headers["content-type"] == "application/problem+json"
            other_client = gateway.tokens.province(HUNAN, client="hr-430000-b")
            async with gateway.stream(other_client) as other:
                await gateway.append([event(1, HUNAN)])
                assert len(await other.events(1)) == 1
        # the streams closed, their slots are free again

        async def opens() -> bool:
            async with (
                gateway.client() as client,
                client.stream("GET", STREAM, headers=hunan) as response,
            ):
                return response.status_code == 200

        assert await eventually(opens)


async def test_a_stream_ends_at_its_lifetime_and_resumes(serve: Serve) -> None:
    async with serve(stream_max_lifetime_s=1.0, stream_heartbeat_s=0.3) as gateway:
        hunan = gateway.tokens.province(HUNAN)
        async with gateway.stream(hunan) as stream:
            await gateway.append([event(1, HUNAN)])
            received = await stream.events(1)
            await stream.until_end()  # a clean end: the body is complete, no error
            assert stream.ended
        later = event(2, HUNAN)
        await gateway.append([later])
        async with gateway.stream({**hunan, "Last-Event-ID": received[0].id}) as stream:
            assert ids(await stream.events(1)) == [later.id]


async def test_the_stream_of_a_disabled_client_ends(serve: Serve) -> None:
    async with serve(stream_heartbeat_s=0.2, disabled_clients_refresh_s=0.1) as gateway:
        state = state_of(gateway.app)
        uses = state.use_cases
        assert isinstance(uses, GatewayUses)
        async with unit_of_work(state.pool, gateway.settings) as uow:
            made = uses.identity.create(
                uow, name="湖南省人社厅就业系统", province=HUNAN, roles=parse_roles(["province"])
            )
        hunan = gateway.tokens.province(HUNAN, client=str(made.client.id))
        async with gateway.stream(hunan) as stream:
            async with unit_of_work(state.pool, gateway.settings) as uow:
                await uses.identity.disable(uow, made.client.id)
            await stream.until_end()
            assert stream.ended
        assert (await gateway.get(hunan)).status_code == 401


async def test_streams_end_at_once_when_the_gateway_shuts_down(serve: Serve) -> None:
    """With a grace period far longer than the test waits: the stream does not hold it."""
    async with serve(shutdown_grace_s=300) as gateway:
        async with gateway.stream(gateway.tokens.ministry()) as stream:
            gateway.server.should_exit = True
            await stream.until_end()
            assert stream.ended
        await asyncio.wait_for(asyncio.shield(gateway.task), WAIT_S)


OPEN_METRIC = "laborcoop_event_streams_open"
SENT_METRIC = "laborcoop_event_stream_events_total"


def _sample(name: str) -> float:
    return REGISTRY.get_sample_value(name) or 0.0


async def test_open_streams_and_the_events_sent_are_counted(serve: Serve) -> None:
    async with serve() as gateway:
        opened, sent = _sample(OPEN_METRIC), _sample(SENT_METRIC)
        async with gateway.stream(gateway.tokens.province(HUNAN)) as stream:
            assert _sample(OPEN_METRIC) == opened + 1
            await gateway.append([event(1, HUNAN), event(2, HUNAN)])
            await stream.events(2)

            async def counted() -> bool:
                return _sample(SENT_METRIC) >= sent + 2

            await eventually(counted)

        async def closed() -> bool:
            return _sample(OPEN_METRIC) == opened

        await eventually(closed)


def test_open_streams_count_per_client_and_refuse_while_draining() -> None:
    streams = OpenStreams(per_client=1)
    held = streams.open("a")
    with pytest.raises(StreamsExhausted):
        streams.open("a")
    other = streams.open("b")
    streams.close(held)
    assert streams.held_by("a") == 0
    again = streams.open("a")
    streams.stop()
    assert again.ended.is_set()
    assert other.ended.is_set()
    with pytest.raises(Draining):
        streams.open("c")


# -- end to end -------------------------------------------------------------------------------


async def test_events_from_kafka_reach_the_streams_of_whom_they_concern(serve: Serve) -> None:
    """Published to the test's topics as the services publish them; the gateway's
    ``gateway.events`` consumer logs them; each stream receives its own, in order per
    subject."""
    told = story().events
    async with serve(run_workers=True) as gateway:
        await ensure_topics(gateway.settings, topics.ALL)
        producer = new_producer(gateway.settings, client_id="stream-test")
        await producer.start()
        try:
            tokens = gateway.tokens
            async with (
                gateway.stream(tokens.province(HUNAN)) as hunan,
                gateway.stream(tokens.province(SHANGHAI)) as shanghai,
            ):
                for published in told:
                    spec = spec_for(published.type)
                    assert spec is not None
                    await producer.send_and_wait(
                        gateway.settings.topic(spec.topic),
                        value=published.to_json_bytes(),
                        key=published.subject.encode(),
                    )
                for code, stream in ((HUNAN, hunan), (SHANGHAI, shanghai)):
                    expected = concerning(code, told)
                    received = await stream.events(len(expected))
                    assert sorted(ids(received)) == sorted(ids(expected)), code
                    for subject in {e.subject for e in expected}:  # Kafka's order per subject
                        mine = [e.id for e in received if e.subject == subject]
                        assert mine == [e.id for e in expected if e.subject == subject]
                sentinel = event(99, HUNAN, SHANGHAI)
                spec = spec_for(sentinel.type)
                assert spec is not None
                await producer.send_and_wait(
                    gateway.settings.topic(spec.topic),
                    value=sentinel.to_json_bytes(),
                    key=sentinel.subject.encode(),
                )
                for stream in (hunan, shanghai):
                    assert ids(await stream.events(1)) == [sentinel.id]
        finally:
            await producer.stop()


def test_the_stream_is_documented_as_server_sent_events_with_its_problems() -> None:
    document = create_app(GatewaySettings(environment="test")).openapi()
    operation = document["paths"][STREAM]["get"]
    assert list(operation["responses"]["200"]["content"]) == ["text/event-stream"]
    assert "id: " in operation["description"]
    assert "heartbeat" in operation["description"]
    assert {"401", "403", "422", "429", "503"} <= set(operation["responses"])
    for status in ("401", "403", "422", "429", "503"):
        content = operation["responses"][status]["content"]
        assert list(content) == ["application/problem+json"]
        name = content["application/problem+json"]["schema"]["$ref"].rsplit("/", 1)[-1]
        assert name in document["components"]["schemas"]
    parameters = {p["name"]: p["in"] for p in operation["parameters"]}
    assert parameters == {
        "types": "query",
        "provinces": "query",
        "since": "query",
        "Last-Event-ID": "header",
    }
    assert operation["security"]
