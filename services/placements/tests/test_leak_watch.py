"""The leak watch finds what it is for: a leak planted in an event, a log record and an answer
to another province is reported in each place (so the session's clean result means something)."""

import logging
import re
from uuid import uuid4

import httpx
from aiokafka import AIOKafkaProducer

from laborcoop.testing import Stack, Tokens
from laborcoop.testing.leaks import LogWatch, PersonalDataWatch, scan_topics
from services.placements.tests.steps import HUNAN, SHANGHAI, worker_body

NAME = "欧阳泄露"


def planted() -> tuple[PersonalDataWatch, dict[str, object]]:
    watch = PersonalDataWatch()
    body = worker_body(9, name=NAME)
    watch.remember(HUNAN, NAME)
    return watch, body


async def test_the_watch_finds_a_leak_in_a_topic(stack: Stack) -> None:
    watch, body = planted()
    # Outside the session's watched names, so this planted leak fails only this test.
    topic = f"t{uuid4().hex[:12]}.leak-watch-test"
    producer = AIOKafkaProducer(bootstrap_servers=stack.kafka_bootstrap)
    await producer.start()
    try:
        await producer.send_and_wait(topic, f'{{"id": "{body["resident_id"]}"}}'.encode())
    finally:
        await producer.stop()
    await scan_topics(watch, stack.kafka_bootstrap, re.compile(re.escape(topic)))
    assert {leak.value for leak in watch.leaks if topic in leak.where} == {body["resident_id"]}


def test_the_watch_finds_a_leak_in_a_log_record() -> None:
    watch, body = planted()
    log = logging.getLogger("laborcoop.leak-test")
    handler = LogWatch(watch)
    log.addHandler(handler)
    log.propagate = False  # the planted leak reaches this watch only, not the session's
    try:
        log.warning("registered", extra={"who": NAME, "phone": body["phone"]})
    finally:
        log.removeHandler(handler)
    watch.scan_logs()
    assert {leak.value for leak in watch.leaks} == {NAME, body["phone"]}


async def test_the_watch_finds_a_leak_in_an_answer_to_another_province(tokens: Tokens) -> None:
    watch, _ = planted()
    answer = f'{{"name": "{NAME}", "clear": []}}'

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, text=answer)

    transport = httpx.MockTransport(handler)
    hooks = {"response": [watch.response]}
    async with httpx.AsyncClient(transport=transport, event_hooks=hooks) as client:
        await client.get("http://x/v1/workers/1", headers=tokens.province(HUNAN))
        assert watch.leaks == []  # the origin may see its own worker
        await client.get("http://x/v1/workers/1", headers=tokens.province(SHANGHAI))
    assert [leak.value for leak in watch.leaks] == [NAME]
