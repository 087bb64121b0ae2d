"""The watch for personal data where it must never be: events, logs, and the answers a province
receives about another province's workers.

Tests that create workers tell :data:`WATCH` the names, ID numbers and phone numbers they send
(:meth:`PersonalDataWatch.remember`); besides those, any valid ID number (its check character
right) and any mobile number found is a leak wherever the watch looks. The session fixture
``personal_data_watch`` (``laborcoop.testing.fixtures``) records every log record and every
answer the in-process clients receive, and at the end of the session reads every placements and
dead-letter topic of the session: a leak anywhere fails the run, naming where it was found.

An answer is exempt when the caller may see the values: the worker's origin province, or an
audited disclosure with consent (a body whose ``clear`` lists fields shown in the clear).
"""

import asyncio
import base64
import json
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Final

import httpx
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError

from laborcoop.contracts.identifiers import check_resident_id

# Not inside a longer run of digits or letters, nor after a decimal point (a float's digits).
_ID_CANDIDATE: Final = re.compile(r"(?<![0-9A-Za-z.])\d{17}[\dXx](?![0-9A-Za-z])")
_MOBILE: Final = re.compile(r"(?<![0-9A-Za-z.])1[3-9]\d{9}(?![0-9A-Za-z])")
_STANDARD_ATTRIBUTES: Final = frozenset(vars(logging.makeLogRecord({})))
"""A log record's own attributes (times, line numbers): only its message and extras are text."""


def _valid_id(candidate: str) -> bool:
    try:
        check_resident_id(candidate)
    except ValueError:
        return False
    return True


@dataclass(frozen=True)
class Leak:
    where: str
    value: str

    def __str__(self) -> str:
        shown = self.value[:2] + "…" if len(self.value) > 3 else self.value
        return f"{self.where}: {shown}"


@dataclass
class PersonalDataWatch:
    """Personal values tests sent, by the province that owns them, and the leaks found."""

    origins: dict[str, str] = field(default_factory=dict)
    prefixes: set[str] = field(default_factory=set)
    """The topic prefixes of the session's services (``settings_for``): the topics to read."""
    leaks: list[Leak] = field(default_factory=list)
    log_lines: list[str] = field(default_factory=list)

    def remember(self, origin: str, *values: str) -> None:
        for value in values:
            self.origins[value] = origin

    def find(self, text: str, *, reader: str | None = None) -> list[str]:
        """The personal values in ``text`` that ``reader`` (a province, or None for everyone)
        may not see."""
        found = {v for v, origin in self.origins.items() if origin != reader and v in text}
        found |= {m for m in _ID_CANDIDATE.findall(text) if _valid_id(m)}
        found |= set(_MOBILE.findall(text))
        if reader is not None:
            found = {v for v in found if self.origins.get(v) != reader}
        return sorted(found)

    def scan(self, where: str, text: str, *, reader: str | None = None) -> None:
        self.leaks += [Leak(where, value) for value in self.find(text, reader=reader)]

    # -- where the watch looks ---------------------------------------------------------------

    async def response(self, response: httpx.Response) -> None:
        """An httpx response hook: the answer as the calling province received it."""
        if response.headers.get("content-type", "").startswith("text/event-stream"):
            return  # a stream is read by its test; its events are the topics' (scanned)
        if response.request.url.path == "/openapi.json":
            return  # the API's description, the same for everyone: its examples are made up
        await response.aread()
        text = response.text
        if _audited_disclosure(text):
            return
        reader = _province_of(response.request.headers.get("authorization", ""))
        self.scan(f"{response.request.method} {response.request.url.path}", text, reader=reader)

    def scan_logs(self) -> None:
        for line in self.log_lines:
            self.scan("log", line)

    def scan_records(self, where: str, records: Iterable[bytes | None]) -> None:
        for raw in records:
            if raw is not None:
                self.scan(where, raw.decode("utf-8", errors="replace"))


class LogWatch(logging.Handler):
    """Keeps every log record's message, extras and exception text, for the watch."""

    def __init__(self, watch: PersonalDataWatch) -> None:
        super().__init__(level=logging.DEBUG)
        self.watch = watch

    def emit(self, record: logging.LogRecord) -> None:
        try:
            extras = (v for k, v in vars(record).items() if k not in _STANDARD_ATTRIBUTES)
            parts = [record.getMessage(), *(str(v) for v in extras)]
            if record.exc_info and record.exc_info[1] is not None:
                parts.append(repr(record.exc_info[1]))
            self.watch.log_lines.append(" ".join(parts))
        except Exception:  # a record that cannot be rendered is not ours to fail on
            self.handleError(record)


def _audited_disclosure(text: str) -> bool:
    try:
        body: Any = json.loads(text)
    except ValueError:
        return False
    return isinstance(body, dict) and bool(body.get("clear"))


def _province_of(authorization: str) -> str | None:
    """The ``province`` claim of a bearer token, read without verifying it (the service did)."""
    token = authorization.removeprefix("Bearer ").strip()
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except ValueError:
        return None
    province = claims.get("province") if isinstance(claims, dict) else None
    return province if isinstance(province, str) else None


WATCH: Final = PersonalDataWatch()
"""The session's watch (the fixture scans with it; tests remember what they send)."""


WATCHED_TOPICS: Final = re.compile(r"laborcoop\.(placements|dlq)\.")


def session_topics(watch: PersonalDataWatch) -> re.Pattern[str]:
    """The placements and dead-letter topics of the session's topic prefixes."""
    prefixes = "|".join(re.escape(p) for p in sorted(watch.prefixes)) or "(?!)"
    return re.compile(rf"^(?:{prefixes}){WATCHED_TOPICS.pattern}")


async def scan_topics(watch: PersonalDataWatch, bootstrap: str, topics: re.Pattern[str]) -> int:
    """Read every record of the ``topics`` on the broker, from the beginning to the end it has
    now; returns how many were read."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, request_timeout_ms=10_000
    )
    await consumer.start()
    try:
        # The whole cluster's metadata, fresh (the consumer's own knows only its topics).
        cluster = await consumer._client.fetch_all_metadata()
        names = sorted(t for t in cluster.topics() if topics.search(t))
        partitions = [
            TopicPartition(topic, p)
            for topic in names
            for p in sorted(cluster.partitions_for_topic(topic) or ())
        ]
        if not partitions:
            return 0
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await _end_offsets(consumer, partitions)
        return await _read_to(consumer, watch, ends)
    finally:
        await consumer.stop()


async def _end_offsets(consumer: Any, partitions: list[Any]) -> dict[Any, int]:
    """The partitions' end offsets in one request, asked again while a partition has no leader
    yet (a topic another test has just created, on a busy broker)."""
    for attempt in range(5):
        try:
            ends: dict[Any, int] = await consumer.end_offsets(partitions)
            return ends
        except KafkaError:
            if attempt == 4:
                raise
            await asyncio.sleep(1 + attempt)
    raise AssertionError("unreachable")


async def _read_to(consumer: Any, watch: PersonalDataWatch, ends: dict[Any, int]) -> int:
    read = 0
    remaining = {tp for tp, end in ends.items() if end > 0}
    for tp in set(ends) - remaining:
        consumer.pause(tp)  # empty: nothing to fetch from it
    while remaining:
        batch = await consumer.getmany(*remaining, timeout_ms=1000, max_records=10_000)
        if not batch:
            break
        for tp, records in batch.items():
            for record in records:
                read += 1
                headers = b" ".join(value for _, value in record.headers or ())
                watch.scan_records(f"topic {tp.topic}", [record.key, record.value, headers])
            if records and records[-1].offset + 1 >= ends[tp]:
                remaining.discard(tp)
                consumer.pause(tp)
    return read
