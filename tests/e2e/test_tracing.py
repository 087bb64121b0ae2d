"""One trace spans the request, the relay's produce and the consumer's processing."""

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from laborcoop.contracts import topics
from laborcoop.gateway.projections import GROUP
from laborcoop.testing import Tokens, consumed, eventually
from tests.conftest import System


async def test_request_relay_and_consumer_share_one_trace(
    system: System, tokens: Tokens, spans: InMemorySpanExporter
) -> None:
    answer = await system.registry.client.post(
        "/v1/brands",
        json={"name": "兰州拉面师", "province": "620000", "category": "skilled_trades"},
        headers=tokens.province("620000"),
    )
    assert answer.status_code == 201
    await eventually(lambda: _applied(system.gateway.settings.topic(GROUP)))
    topic = system.registry.settings.topic(topics.BRANDS)

    def one(kind: SpanKind, name: str, **attributes: str) -> ReadableSpan:
        found = [
            s
            for s in spans.get_finished_spans()
            if s.kind == kind
            and s.name == name
            and all((s.attributes or {}).get(k) == v for k, v in attributes.items())
        ]
        assert len(found) == 1, [s.name for s in spans.get_finished_spans()]
        return found[0]

    request = one(SpanKind.SERVER, "POST /v1/brands")
    produce = one(SpanKind.PRODUCER, f"send {topic}")
    # the brand view's group: the gateway's event log reads the topic too, with a span of its own
    group = system.gateway.settings.topic(GROUP)
    consume = one(SpanKind.CONSUMER, f"process {topic}", **{"messaging.consumer.group.name": group})
    trace_ids = {s.context.trace_id for s in (request, produce, consume)}
    assert trace_ids == {request.context.trace_id}
    assert consume.parent is not None
    assert consume.parent.span_id == produce.context.span_id


async def _applied(group: str) -> bool:
    return consumed(group, "applied") >= 1
