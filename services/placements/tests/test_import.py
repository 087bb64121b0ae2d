"""Bulk import through ``POST /v1/workers:import`` on the real database and broker: good lines
stored with one event each, bad lines named by line and field (never by value), a re-run
storing and publishing nothing, and the problems of the route (401, 403, 413, 415)."""

import argparse
import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from laborcoop.common.clock import ManualClock
from laborcoop.common.deps import state_of
from laborcoop.common.principal import Principal, Role
from laborcoop.contracts import decode, topics
from laborcoop.contracts.envelope import CloudEvent
from laborcoop.contracts.identifiers import make_resident_id
from laborcoop.contracts.ids import uuid7
from laborcoop.contracts.placements import WorkerRegistered
from laborcoop.placements.app import SPEC, create_app
from laborcoop.placements.cli import IMPORT_WORKERS
from laborcoop.placements.protection import Keyring
from laborcoop.placements.settings import PlacementsSettings
from laborcoop.placements.workers import importing
from laborcoop.placements.workers.domain import Worker, identity_facts
from laborcoop.placements.workers.repository import WORKERS
from laborcoop.placements.workers.schemas import WorkerCreate
from laborcoop.placements.workers.service import seal_person
from laborcoop.testing import FreshApps, Tokens, eventually, read_topic, row_counts
from laborcoop.testing.leaks import WATCH
from services.placements.tests.conftest import START, key_settings

HUNAN = "430000"
NDJSON = {"Content-Type": "application/x-ndjson"}
BAD_ID = "430524199005171230"  # a wrong check character: the value must never be echoed
SHANGHAI_ID = make_resident_id("310101", date(1988, 2, 3), 7)


def person(sequence: int, **overrides: object) -> dict[str, object]:
    resident_id = make_resident_id("430524", date(1990, 5, 17), sequence)
    body: dict[str, object] = {
        "name": "李四海",
        "resident_id": resident_id,
        "phone": "13912345678",
        "education": "vocational",
        "occupations": ["6-04-01-01"],
        **overrides,
    }
    WATCH.remember(HUNAN, str(body["resident_id"]), str(body["phone"]))
    return body


def ndjson(*lines: object) -> bytes:
    """Each line a JSON object, or raw text when given as bytes."""
    return b"".join(
        line if isinstance(line, bytes) else json.dumps(line, ensure_ascii=False).encode() + b"\n"
        for line in lines
    )


GOOD = [person(1), person(2), person(3)]
BODY = ndjson(
    GOOD[0],  # 1
    person(4, resident_id=BAD_ID),  # 2: resident_id
    b"   \n",  # 3: blank, skipped
    GOOD[1],  # 4
    b'{"name": "\xe7\x8e\x8b\n',  # 5: not JSON
    person(5, occupations=["6-04-01-01", "no-code"]),  # 6: occupations.1
    person(6, resident_id=SHANGHAI_ID),  # 7: another province's county
    GOOD[0],  # 8: a duplicate of line 1
    b'{"name": "\xe7\x8e\x8b\xe4\xba\x94", "name": "x"}\n',  # 9: a key twice
    person(7, extra="?"),  # 10: an unknown field
    person(8, brand_id="0190a6c2-0000-7000-8000-000000000001"),  # 11: no such brand
    b'{"name": "' + b"a" * (importing.MAX_LINE_BYTES + 10) + b'"}\r\n',  # 12: too long
    json.dumps(GOOD[2], ensure_ascii=False).encode(),  # 13: good, no line end
)
REJECTED = [
    (2, "resident_id", "value_error"),
    (5, None, "json_invalid"),
    (6, "occupations.1", "value_error"),
    (7, "resident_id", "invalid"),
    (9, "name", "duplicate_key"),
    (10, "extra", "extra_forbidden"),
    (11, "brand_id", "invalid"),
    (12, None, "too_long"),
]


@pytest.fixture
async def publishing(
    fresh_apps: FreshApps, ring: Keyring, clock: ManualClock
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    """The service with its relay running, importing in batches of 3 (several per body)."""
    settings = await fresh_apps.settings(
        PlacementsSettings, SPEC.migration_package, import_batch_size=3, **key_settings(ring)
    )
    async with fresh_apps.running(create_app, settings, clock=clock) as running:
        yield running


async def _import(client: httpx.AsyncClient, headers: dict[str, str], body: bytes) -> Any:
    answer = await client.post("/v1/workers:import", content=body, headers={**headers, **NDJSON})
    assert answer.status_code == 200, answer.text
    assert BAD_ID not in answer.text
    assert SHANGHAI_ID not in answer.text
    return answer.json()


async def test_good_lines_are_stored_with_one_event_each_and_bad_lines_named(
    publishing: tuple[FastAPI, httpx.AsyncClient], tokens: Tokens
) -> None:
    app, client = publishing
    hunan = tokens.province(HUNAN)
    report = await _import(client, hunan, BODY)
    assert (report["lines"], report["accepted"], report["duplicates"]) == (12, 3, 1)
    assert report["rejected"] == len(REJECTED)
    named = [(r["line"], r["field"]) for r in report["rejections"]]
    assert named == [(line, field) for line, field, _ in REJECTED]
    assert all(r["reason"] for r in report["rejections"])
    codes = {r["line"]: r["code"] for r in report["rejections"]}
    assert (codes[5], codes[9], codes[12]) == ("json_invalid", "duplicate_key", "too_long")

    pool = state_of(app).pool
    stored = await pool.fetch("SELECT id, sealed_with FROM workers ORDER BY id")
    assert [r["sealed_with"] for r in stored] == ["k1"] * 3
    ids = {str(r["id"]) for r in stored}
    history = await pool.fetch("SELECT subject, version, type FROM event_history")
    assert {str(r["subject"]) for r in history} == ids
    assert {(r["version"], r["type"]) for r in history} == {(1, WorkerRegistered.event_type)}

    async def relayed() -> bool:
        backlog: int = await pool.fetchval("SELECT count(*) FROM outbox")
        return backlog == 0

    await eventually(relayed)
    topic = state_of(app).settings.topic(topics.WORKERS)
    records = await read_topic(state_of(app).settings.kafka_bootstrap, topic, expect=3, timeout=10)
    events = [CloudEvent.from_json_bytes(r.value) for r in records if r.value is not None]
    assert sorted(e.subject for e in events) == sorted(ids)
    assert all(isinstance(decode(e), WorkerRegistered) and e.provinces == HUNAN for e in events)

    # Each stored worker opens in the clear for its province: sealed for its own row.
    shown = [
        (await client.get(f"/v1/workers/{worker_id}", headers=hunan)).json()
        for worker_id in sorted(ids)
    ]
    assert sorted(w["resident_id"] for w in shown) == sorted(str(p["resident_id"]) for p in GOOD)

    # The same file again: nothing new stored, nothing published.
    before = await row_counts(pool, "workers", "event_history", "outbox")
    again = await _import(client, hunan, BODY)
    assert (again["lines"], again["accepted"], again["duplicates"]) == (12, 0, 4)
    assert again["rejections"] == report["rejections"]
    assert await row_counts(pool, "workers", "event_history", "outbox") == before


@pytest.fixture
async def limited(
    fresh_apps: FreshApps, ring: Keyring, clock: ManualClock
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    """Workers off; at most 5 lines an import, in batches of 2; bodies over 1 KiB refused
    elsewhere (the import streams its body, so the limit is not its)."""
    settings = await fresh_apps.settings(
        PlacementsSettings,
        SPEC.migration_package,
        run_workers=False,
        import_max_lines=5,
        import_batch_size=2,
        max_body_bytes=1024,
        **key_settings(ring),
    )
    async with fresh_apps.running(create_app, settings, clock=clock) as running:
        yield running


async def test_a_body_over_the_line_limit_is_a_413_after_the_lines_before_it(
    limited: tuple[FastAPI, httpx.AsyncClient], tokens: Tokens
) -> None:
    app, client = limited
    body = ndjson(*(person(20 + n) for n in range(9)))
    assert len(body) > 1024
    answer = await client.post(
        "/v1/workers:import", content=body, headers={**tokens.province(HUNAN), **NDJSON}
    )
    assert answer.status_code == 413, answer.text
    problem = answer.json()
    assert "more than 5 lines" in problem["detail"]
    assert problem["report"]["lines"] == problem["report"]["accepted"] == 5
    assert await state_of(app).pool.fetchval("SELECT count(*) FROM workers") == 5
    assert await state_of(app).pool.fetchval("SELECT count(*) FROM event_history") == 5


async def test_a_streamed_body_is_not_held_to_the_body_limit(
    limited: tuple[FastAPI, httpx.AsyncClient], tokens: Tokens
) -> None:
    _, client = limited
    lines = [person(40 + n) for n in range(5)]

    async def chunks() -> AsyncIterator[bytes]:
        body = ndjson(*lines[:2], b" " * 700 + b"\n", *lines[2:])  # a long blank line
        assert len(body) > 1024
        for start in range(0, len(body), 100):  # lines cut across chunks
            yield body[start : start + 100]

    answer = await client.post(
        "/v1/workers:import", content=chunks(), headers={**tokens.province(HUNAN), **NDJSON}
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["accepted"] == 5
    # Other routes keep the limit.
    big = await client.post(
        "/v1/workers",
        content=b" " * 2048 + json.dumps(lines[0]).encode(),
        headers={**tokens.province(HUNAN), "Content-Type": "application/json"},
    )
    assert big.status_code == 413


async def test_the_route_takes_ndjson_from_a_province_only(
    limited: tuple[FastAPI, httpx.AsyncClient], tokens: Tokens
) -> None:
    app, client = limited
    body = ndjson(person(60))
    as_json = await client.post(
        "/v1/workers:import",
        content=body,
        headers={**tokens.province(HUNAN), "Content-Type": "application/json"},
    )
    assert as_json.status_code == 415, as_json.text
    assert as_json.headers["Accept-Post"] == "application/x-ndjson"
    for caller in (tokens.ministry(), tokens.observer()):
        refused = await client.post(
            "/v1/workers:import", content=body, headers={**caller, **NDJSON}
        )
        assert refused.status_code == 403, refused.text
    anonymous = await client.post("/v1/workers:import", content=body, headers=NDJSON)
    assert anonymous.status_code == 401
    empty = await client.post("/v1/workers:import", headers={**tokens.province(HUNAN), **NDJSON})
    assert empty.json() == {
        "lines": 0,
        "accepted": 0,
        "duplicates": 0,
        "rejected": 0,
        "rejections": [],
    }
    assert await state_of(app).pool.fetchval("SELECT count(*) FROM workers") == 0


def _split(body: bytes, size: int) -> Iterator[bytes]:
    for start in range(0, len(body), size):
        yield body[start : start + size]


@pytest.mark.parametrize("size", [1, 2, 7, 64, 1 << 20])
def test_lines_are_the_same_however_the_body_is_cut(size: int) -> None:
    body = b'{"a": 1}\n\n{"b": 2}\r\n' + b"x" * (importing.MAX_LINE_BYTES + 1) + b'\n{"c": 3}'
    lines = importing._Lines()
    got = [line for chunk in _split(body, size) for line in lines.feed(chunk)] + lines.close()
    assert got == [(1, b'{"a": 1}'), (2, b""), (3, b'{"b": 2}\r'), (4, None), (5, b'{"c": 3}')]


def test_a_line_of_exactly_the_bound_is_kept() -> None:
    line = b"y" * importing.MAX_LINE_BYTES
    lines = importing._Lines()
    assert lines.feed(line[:10]) == []
    assert lines.feed(line[10:] + b"\n") == [(1, line)]
    assert lines.close() == []


async def test_the_command_imports_a_file(
    settings: PlacementsSettings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "workers.ndjson"
    path.write_bytes(ndjson(person(70), person(71), person(72, resident_id=BAD_ID)))
    with pytest.raises(SystemExit) as exited:  # a line was rejected
        await IMPORT_WORKERS.run(settings, argparse.Namespace(file=path, province=HUNAN))
    assert exited.value.code == 1
    output = capsys.readouterr()
    report = json.loads(output.out)
    assert (report["lines"], report["accepted"], report["rejected"]) == (3, 2, 1)
    assert report["rejections"][0]["line"] == 3
    assert BAD_ID not in output.out
    assert "100% 3 lines, 2 accepted" in output.err


def test_a_row_is_what_the_table_writes(ring: Keyring) -> None:
    body = WorkerCreate.model_validate(
        person(
            80,
            brand_id="0190a6c2-0000-7000-8000-000000000001",
            wage_min=3000,
            certificates=[
                {
                    "kind": "vocational_skill",
                    "name": "茶艺师",
                    "level": 3,
                    "issuer": "湖南省人社厅",
                    "year": 2020,
                }
            ],
        )
    )
    worker_id = uuid7()
    worker = Worker.register(
        Principal("t", HUNAN, frozenset({Role.PROVINCE})),
        worker_id=worker_id,
        facts=identity_facts(body.resident_id),
        sealed=seal_person(ring, worker_id, body.person()),
        profile=body.profile(),
        now=START,
    )
    written = WORKERS.values(worker)
    for column in ("certificates", "consents"):
        written[column] = json.dumps(written[column], ensure_ascii=False)
    assert importing._row(worker) == tuple(written.values())


async def test_two_imports_of_the_same_people_at_once_store_each_once(
    publishing: tuple[FastAPI, httpx.AsyncClient], tokens: Tokens
) -> None:
    app, client = publishing
    people = [person(200 + n) for n in range(30)]
    hunan = {**tokens.province(HUNAN), **NDJSON}
    # Each batch (of 3) holds the same people in the other order: inserted in one order (the
    # blind index's), the two transactions may wait for each other, never in a cycle.
    crossed = [p for n in range(0, 30, 3) for p in reversed(people[n : n + 3])]
    bodies = [ndjson(*people), ndjson(*crossed)]
    answers = await asyncio.gather(
        *(client.post("/v1/workers:import", content=body, headers=hunan) for body in bodies)
    )
    reports = [answer.json() for answer in answers]
    assert [a.status_code for a in answers] == [200, 200], reports
    assert sum(r["accepted"] for r in reports) == 30
    assert sum(r["duplicates"] for r in reports) == 30
    pool = state_of(app).pool
    assert await row_counts(pool, "workers", "event_history") == (30, 30)
