"""OpenTelemetry set up once per process, and the W3C trace context carried through events."""

from collections.abc import Mapping
from typing import Final

from opentelemetry import context, propagate, trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.id_generator import RandomIdGenerator
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased
from opentelemetry.trace import INVALID_SPAN_CONTEXT, NonRecordingSpan, SpanContext, TraceFlags
from starlette.types import ASGIApp, Receive, Scope, Send

TRACER_NAME: Final = "laborcoop"
_configured = False
_recording = False


def configure_tracing(
    service_name: str,
    otlp_endpoint: str | None,
    *,
    sample_ratio: float | None = None,
    extra: SpanProcessor | None = None,
) -> None:
    """Install the SDK tracer provider (first call wins) and instrument asyncpg and httpx.

    Spans are recorded only where they go somewhere: with no exporter the default ratio is 0,
    so traces cost almost nothing, while trace ids still exist for logs and problem answers.
    """
    global _configured, _recording
    if _configured:
        return
    exporting = bool(otlp_endpoint) or extra is not None
    ratio = sample_ratio if sample_ratio is not None else (1.0 if exporting else 0.0)
    provider = TracerProvider(
        resource=Resource.create({"service.name": service_name}),
        sampler=ParentBased(TraceIdRatioBased(ratio)) if ratio > 0 else TraceIdRatioBased(0),
    )
    if otlp_endpoint:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import (  # noqa: PLC0415
            OTLPSpanExporter,
        )

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=otlp_endpoint)))
    if extra is not None:
        provider.add_span_processor(extra)
    trace.set_tracer_provider(provider)
    if ratio > 0:
        _instrument_libraries()
    _configured, _recording = True, ratio > 0


def recording() -> bool:
    """Whether spans are recorded at all (otherwise only trace ids are carried)."""
    return _recording


class TraceContextMiddleware:
    """The light stand-in for the ASGI instrumentation when nothing is recorded: each request
    continues the caller's ``traceparent`` or starts a trace id, so logs, problem answers and
    outbox rows still carry one."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = next((v for k, v in scope["headers"] if k == b"traceparent"), None)
        parent = (
            # latin-1 decodes any bytes; a traceparent that is not ASCII is simply not valid,
            # and an invalid one is ignored (W3C Trace Context), never an error
            trace.get_current_span(
                propagate.extract({"traceparent": incoming.decode("latin-1")})
            ).get_span_context()
            if incoming is not None
            else INVALID_SPAN_CONTEXT
        )
        span = NonRecordingSpan(
            SpanContext(
                trace_id=parent.trace_id if parent.is_valid else _ids.generate_trace_id(),
                span_id=_ids.generate_span_id(),
                is_remote=False,
                trace_flags=parent.trace_flags if parent.is_valid else TraceFlags(0),
            )
        )
        token = context.attach(trace.set_span_in_context(span))
        try:
            await self.app(scope, receive, send)
        finally:
            context.detach(token)


_ids = RandomIdGenerator()


def _instrument_libraries() -> None:
    """Client spans for every query and outgoing call: worth their cost only when recorded."""
    from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor  # noqa: PLC0415
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor  # noqa: PLC0415

    AsyncPGInstrumentor().instrument()  # type: ignore[no-untyped-call]
    HTTPXClientInstrumentor().instrument()


def tracer() -> trace.Tracer:
    return trace.get_tracer(TRACER_NAME)


def current_traceparent() -> str | None:
    """The ``traceparent`` of the active span, if any (stored with outbox rows)."""
    return traceparent_of(trace.get_current_span())


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
