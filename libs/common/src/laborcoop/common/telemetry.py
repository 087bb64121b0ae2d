"""OpenTelemetry set up once per process, and the W3C trace context carried through events."""

from collections.abc import Mapping
from typing import Final

from opentelemetry import propagate, trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

TRACER_NAME: Final = "laborcoop"
_configured = False


def configure_tracing(
    service_name: str, otlp_endpoint: str | None, extra: SpanProcessor | None = None
) -> None:
    """Install the SDK tracer provider (first call wins) and instrument asyncpg and httpx."""
    global _configured  # noqa: PLW0603 - the global tracer provider can be set only once
    if _configured:
        return
    provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
    if otlp_endpoint:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import (  # noqa: PLC0415
            OTLPSpanExporter,
        )

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=otlp_endpoint)))
    if extra is not None:
        provider.add_span_processor(extra)
    trace.set_tracer_provider(provider)
    _instrument_libraries()
    _configured = True


def _instrument_libraries() -> None:
    from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor  # noqa: PLC0415
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor  # noqa: PLC0415

    AsyncPGInstrumentor().instrument()  # type: ignore[no-untyped-call]
    HTTPXClientInstrumentor().instrument()


def tracer() -> trace.Tracer:
    return trace.get_tracer(TRACER_NAME)


def current_traceparent() -> str | None:
    """The ``traceparent`` of the active span, if any (stored with outbox rows)."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier.get("traceparent")


def traceparent_of(span: trace.Span) -> str | None:
    """The W3C ``traceparent`` naming ``span`` (without attaching it as the current span)."""
    context = span.get_span_context()
    if not context.is_valid:
        return None
    return f"00-{context.trace_id:032x}-{context.span_id:016x}-{int(context.trace_flags):02x}"


def context_from_traceparent(traceparent: str | None) -> Context:
    if not traceparent:
        return Context()
    return propagate.extract({"traceparent": traceparent})


def context_from_headers(headers: Mapping[str, str]) -> Context:
    return propagate.extract(dict(headers))


def current_trace_id() -> str | None:
    context = trace.get_current_span().get_span_context()
    return format(context.trace_id, "032x") if context.is_valid else None
