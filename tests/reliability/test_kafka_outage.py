"""Kafka down while brands are written: every write succeeds, every event arrives once."""

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
    for n in range(WRITES):
        answer = await system.registry.client.post(
            "/v1/brands",
            json={"name": f"河北福嫂{n}", "province": HEBEI, "category": "skilled_trades"},
            headers=hebei,
        )
        assert answer.status_code == 201, answer.text
    backlog = await system.registry.app.state.pool.fetchval("SELECT count(*) FROM outbox")
    assert backlog == WRITES

    await kafka_control.start()
    await eventually(lambda: _reached(group, WRITES + 1), timeout=90)
    gateway_pool = system.gateway.app.state.pool
    assert await gateway_pool.fetchval("SELECT count(*) FROM brand_view") == WRITES + 1
    assert await gateway_pool.fetchval("SELECT count(*) FROM inbox") == WRITES + 1
    assert await system.registry.app.state.pool.fetchval("SELECT count(*) FROM outbox") == 0
    assert consumed(group, "applied") == WRITES + 1


async def _reached(group: str, applied: int) -> bool:
    return consumed(group, "applied") >= applied
