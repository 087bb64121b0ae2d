"""Kafka down while brands are written: every write succeeds, every event arrives once."""

import asyncio
import logging
from collections.abc import Iterator
from contextlib import contextmanager

from laborcoop.common.deps import state_of
from laborcoop.gateway.app import SPEC as GATEWAY
from laborcoop.gateway.projections import GROUP
from laborcoop.testing import Tokens, consumed, eventually
from laborcoop.testing.fixtures import KafkaControl
from tests.conftest import System

HEBEI = "130000"
WRITES = 12


async def test_writes_survive_a_broker_outage_and_arrive_once(
    system: System, tokens: Tokens, kafka_control: KafkaControl
) -> None:
    hebei = tokens.province(HEBEI)
    first = await system.registry.client.post(
        "/v1/brands",
        json={"name": "河北福嫂", "province": HEBEI, "category": "skilled_trades"},
        headers=hebei,
    )
    assert first.status_code == 201
    group = system.gateway.settings.topic(GROUP)
    await eventually(lambda: _reached(group, 1))

    await kafka_control.stop()
    with counting(logging.getLogger("aiokafka"), logging.ERROR) as client_errors:
        for n in range(WRITES):
            answer = await system.registry.client.post(
                "/v1/brands",
                json={"name": f"河北福嫂{n}", "province": HEBEI, "category": "skilled_trades"},
                headers=hebei,
            )
            assert answer.status_code == 201, answer.text
            await asyncio.sleep(0.25)  # writes spread over the outage, each one a NOTIFY
    # The relay gives up at the client's first failure and waits out its interval (new rows do
    # not cut it short), so the client does not retry in a tight loop: a few attempts a second
    # from each relay and consumer (the gateway runs one consumer per topic), not thousands.
    clients = len(GATEWAY.subscriptions) + 2  # the consumers and the two services' relays
    assert client_errors.count < 60 * clients, (client_errors.count, clients)
    backlog = await state_of(system.registry.app).pool.fetchval("SELECT count(*) FROM outbox")
    assert backlog == WRITES

    await kafka_control.start()
    await eventually(lambda: _reached(group, WRITES + 1), timeout=90)
    gateway_pool = state_of(system.gateway.app).pool
    assert await gateway_pool.fetchval("SELECT count(*) FROM brand_view") == WRITES + 1
    applied_once = "SELECT count(*) FROM inbox WHERE consumer_group = $1"
    assert await gateway_pool.fetchval(applied_once, GROUP) == WRITES + 1
    assert await state_of(system.registry.app).pool.fetchval("SELECT count(*) FROM outbox") == 0
    assert consumed(group, "applied") == WRITES + 1


async def _reached(group: str, applied: int) -> bool:
    return consumed(group, "applied") >= applied


class _Counter(logging.Handler):
    count = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1


@contextmanager
def counting(logger: logging.Logger, level: int) -> Iterator[_Counter]:
    """Count the records of ``level`` or above that ``logger`` and its children emit."""
    counter = _Counter(level)
    logger.addHandler(counter)
    try:
        yield counter
    finally:
        logger.removeHandler(counter)
