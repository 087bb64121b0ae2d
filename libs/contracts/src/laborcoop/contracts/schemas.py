"""JSON Schemas of every event payload and the AsyncAPI 3.0 document, generated from the models.

``python -m laborcoop.contracts.schemas docs/events`` writes them, after checking that the new
generation is backward compatible with the files already there (``compatibility``): it refuses to
overwrite a published contract with an incompatible one. A test compares the committed copies with
a fresh generation, so an unreviewed contract change fails the build.

The AsyncAPI document describes the three ways events leave laborcoop, all with the same
CloudEvent JSON: the Kafka topics, the gateway's Standard Webhooks deliveries (an HTTP POST to the
partner's URL) and the gateway's server-sent event stream (``GET /v1/events/stream``).
"""

import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

import laborcoop.contracts  # noqa: F401 - registers every event type
from laborcoop.contracts import topics
from laborcoop.contracts.compatibility import check, report
from laborcoop.contracts.envelope import CONTENT_TYPE, CloudEvent
from laborcoop.contracts.events import EventSpec, all_specs

ASYNCAPI_FILE: Final = "asyncapi.json"
ENVELOPE_CONTRACT: Final = "cloudevent"
"""The published envelope's contract name (and file stem) beside the event types."""
STREAM_PATH: Final = "/v1/events/stream"
HTTP_BINDING: Final = "0.3.0"


def payload_schema(spec: EventSpec) -> dict[str, Any]:
    schema = spec.payload.model_json_schema()
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": spec.schema_uri,
        **schema,
    }


def _key(spec: EventSpec) -> str:
    """The type as an AsyncAPI component key (dots are not allowed there)."""
    return spec.type.replace(".", "_")


def _event_schema(spec: EventSpec) -> dict[str, Any]:
    """The whole CloudEvent of one type: the envelope with that ``type`` and its ``data``."""
    return {
        "allOf": [
            {"$ref": "#/components/schemas/CloudEvent"},
            {
                "type": "object",
                "properties": {
                    "type": {"const": spec.type},
                    "data": {"$ref": f"{spec.type}.json"},
                },
            },
        ]
    }


def _message(spec: EventSpec) -> dict[str, Any]:
    return {
        "name": spec.type,
        "title": spec.payload.__name__,
        "summary": (spec.payload.__doc__ or "").strip().splitlines()[0]
        if spec.payload.__doc__
        else spec.type,
        "contentType": CONTENT_TYPE,
        "headers": {"$ref": "#/components/schemas/KafkaHeaders"},
        "payload": {"$ref": f"#/components/schemas/{_key(spec)}"},
    }


def asyncapi() -> dict[str, Any]:
    specs = all_specs()
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    for topic in topics.ALL:
        members = [s for s in specs if s.topic == topic]
        if not members:
            continue
        key = topic.replace(".", "_")
        channels[key] = {
            "address": topic,
            "description": "Key: the aggregate id (CloudEvents subject); 6 partitions by default.",
            "servers": [{"$ref": "#/servers/kafka"}],
            "messages": {_key(s): {"$ref": f"#/components/messages/{_key(s)}"} for s in members},
        }
        operations[f"publish_{key}"] = {"action": "send", "channel": {"$ref": f"#/channels/{key}"}}
    channels.update(_http_channels())
    operations.update(_http_operations())
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "laborcoop events",
            "version": "1.0.0",
            "description": "Facts published by laborcoop's services: CloudEvents 1.0, structured "
            "JSON mode, at-least-once; deduplicate by `id`, order per `subject` by `sequence`. "
            "The same CloudEvent JSON travels on the Kafka topics, in the gateway's Standard "
            "Webhooks deliveries and on its server-sent event stream. Every operation is "
            "described from laborcoop's side: `send` is laborcoop sending (a partner receives).",
        },
        "defaultContentType": CONTENT_TYPE,
        "servers": _servers(),
        "channels": channels,
        "operations": operations,
        "components": {
            "messages": {
                **{_key(s): _message(s) for s in specs},
                "webhook_delivery": _webhook_message(),
                "stream_event": _stream_message(),
            },
            "schemas": {
                "CloudEvent": CloudEvent.model_json_schema(),
                "Event": {
                    "description": "Any laborcoop event: the CloudEvent of one of the types.",
                    "oneOf": [{"$ref": f"#/components/schemas/{_key(s)}"} for s in specs],
                },
                **{_key(s): _event_schema(s) for s in specs},
                "KafkaHeaders": {
                    "type": "object",
                    "properties": {
                        "ce_type": {"type": "string"},
                        "ce_id": {"type": "string"},
                        "traceparent": {"type": "string"},
                        "content-type": {"const": CONTENT_TYPE},
                    },
                },
                "WebhookHeaders": _webhook_headers(),
                "StreamQuery": _stream_query(),
            },
        },
    }


def _servers() -> dict[str, Any]:
    return {
        "kafka": {
            "host": "{bootstrap}",
            "protocol": "kafka",
            "description": "The Kafka cluster inside the network; for laborcoop's services and "
            "partners given direct read access (consumer groups named `<partner>.<purpose>`).",
            "variables": {
                "bootstrap": {
                    "description": "A bootstrap broker, host:port.",
                    "examples": ["localhost:29092"],
                }
            },
        },
        "gateway": {
            "host": "{gateway}",
            "protocol": "https",
            "description": "laborcoop's gateway, the one public entry; every request carries the "
            "OAuth2 bearer token of `POST /v1/oauth/token`.",
            "variables": {"gateway": {"description": "The gateway's host (and port)."}},
        },
        "partner": {
            "host": "{partner}",
            "protocol": "https",
            "description": "A partner's webhook endpoint, registered with the gateway "
            "(`/v1/subscriptions`) together with its secret.",
            "variables": {"partner": {"description": "The registered URL's host (and port)."}},
        },
    }


def _http_channels() -> dict[str, Any]:
    return {
        "webhook": {
            "address": None,
            "title": "Webhook deliveries",
            "description": "The URL the partner registered for its subscription (the address "
            "is the partner's own). Standard Webhooks: each event is one POST whose body is the "
            "CloudEvent JSON itself. Any 2xx answer acknowledges it; any other answer, or none, "
            "and the gateway retries later with the same `webhook-id`.",
            "servers": [{"$ref": "#/servers/partner"}],
            "messages": {"event": {"$ref": "#/components/messages/webhook_delivery"}},
        },
        "event_stream": {
            "address": STREAM_PATH,
            "title": "Event stream (server-sent events)",
            "description": "`GET /v1/events/stream` answers `text/event-stream` with the events "
            "the caller may receive (a province: those concerning it; the ministry: all). Each "
            "event is `id: <CloudEvent id>` and `data: <the CloudEvent JSON on one line>`, then "
            "a blank line; a comment line `: heartbeat` keeps an idle connection open. The "
            "stream ends after a while or when the gateway stops: reconnect with the last id "
            "received in the `Last-Event-ID` header (browsers' EventSource do it themselves) "
            "and the stream continues right after that event.",
            "servers": [{"$ref": "#/servers/gateway"}],
            "messages": {"event": {"$ref": "#/components/messages/stream_event"}},
        },
    }


def _http_operations() -> dict[str, Any]:
    return {
        "deliver_webhook": {
            "action": "send",
            "channel": {"$ref": "#/channels/webhook"},
            "title": "Deliver an event to a partner's webhook",
            "description": "The partner receives: verify `webhook-signature` over the raw body "
            "before parsing it, reject a `webhook-timestamp` more than five minutes off, "
            "deduplicate by `webhook-id`, answer 2xx quickly.",
            "bindings": {"http": {"method": "POST", "bindingVersion": HTTP_BINDING}},
            "messages": [{"$ref": "#/channels/webhook/messages/event"}],
        },
        "stream_events": {
            "action": "send",
            "channel": {"$ref": "#/channels/event_stream"},
            "title": "Stream events to a connected client",
            "description": "The client receives: it opens `GET /v1/events/stream`, optionally "
            "with the query parameters `types` and `since` (the HTTP binding's `query`) and, to "
            "resume, the request header `Last-Event-ID` (the last `id:` received).",
            "bindings": {
                "http": {
                    "method": "GET",
                    "query": {"$ref": "#/components/schemas/StreamQuery"},
                    "bindingVersion": HTTP_BINDING,
                }
            },
            "messages": [{"$ref": "#/channels/event_stream/messages/event"}],
        },
    }


def _webhook_headers() -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["webhook-id", "webhook-timestamp", "webhook-signature", "content-type"],
        "properties": {
            "webhook-id": {
                "type": "string",
                "description": "The CloudEvent `id`, the same on every retry: deduplicate by it.",
            },
            "webhook-timestamp": {
                "type": "string",
                "pattern": r"^\d+$",
                "description": "When this attempt was sent, in unix seconds.",
            },
            "webhook-signature": {
                "type": "string",
                "pattern": r"^v1,[A-Za-z0-9+/]{43}=( v1,[A-Za-z0-9+/]{43}=)*$",
                "description": '`v1,<base64 of HMAC-SHA256(key, "{webhook-id}.{webhook-timestamp}'
                ".{body}\")>`, where the key is the base64-decoded part of the subscription's "
                "secret `whsec_<base64>`. During a secret rotation several signatures, separated "
                "by spaces; accept the request when any of them matches.",
            },
            "content-type": {"const": CONTENT_TYPE},
        },
    }


def _webhook_message() -> dict[str, Any]:
    return {
        "name": "webhook_delivery",
        "title": "Webhook delivery",
        "summary": "One event POSTed to a partner's URL, signed per Standard Webhooks.",
        "contentType": CONTENT_TYPE,
        "headers": {"$ref": "#/components/schemas/WebhookHeaders"},
        "correlationId": {"location": "$message.header#/webhook-id"},
        "payload": {"$ref": "#/components/schemas/Event"},
        "bindings": {
            "http": {
                "headers": {"$ref": "#/components/schemas/WebhookHeaders"},
                "bindingVersion": HTTP_BINDING,
            }
        },
    }


def _stream_message() -> dict[str, Any]:
    return {
        "name": "stream_event",
        "title": "Stream event",
        "summary": "One server-sent event: `id:` the CloudEvent id, `data:` the CloudEvent JSON.",
        "contentType": CONTENT_TYPE,
        "correlationId": {"location": "$message.payload#/id"},
        "payload": {"$ref": "#/components/schemas/Event"},
    }


def _stream_query() -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            "types": {
                "type": "string",
                "description": "Only these event types: an exact type "
                "(`cn.laborcoop.registry.brand.registered.v1`) or a prefix ending in `*` "
                "(`cn.laborcoop.placements.*`); repeat the parameter or separate by commas. "
                "Every type when absent.",
            },
            "provinces": {
                "type": "string",
                "description": "Only events concerning one of these provinces (their "
                "`provinces` attribute), repeated or comma-separated; it only narrows what the "
                "caller may receive.",
            },
            "since": {
                "type": "string",
                "format": "date-time",
                "description": "RFC 3339: start with the events recorded from then on (a "
                "backfill), then the live ones. `Last-Event-ID` wins over it; without either, "
                "only new events.",
            },
        },
    }


def contract_schemas() -> dict[str, dict[str, Any]]:
    """Contract name -> JSON Schema of everything compatibility guards: each event type's
    payload, and the envelope (``cloudevent``)."""
    schemas: dict[str, dict[str, Any]] = {s.type: payload_schema(s) for s in all_specs()}
    schemas[ENVELOPE_CONTRACT] = CloudEvent.model_json_schema()
    return schemas


def published_schemas(directory: Path) -> dict[str, dict[str, Any]]:
    """The contracts published in ``directory`` (``docs/events``): every ``*.json`` file but the
    AsyncAPI document, by file stem."""
    return {
        path.stem: json.loads(path.read_text(encoding="utf-8"))
        for path in sorted(directory.glob("*.json"))
        if path.name != ASYNCAPI_FILE
    }


def generate() -> dict[str, str]:
    """File name -> content of everything under docs/events/."""
    files = {f"{name}.json": _dump(schema) for name, schema in contract_schemas().items()}
    files[ASYNCAPI_FILE] = _dump(asyncapi())
    return files


def _dump(document: Mapping[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False, sort_keys=True) + "\n"


def main(argv: list[str]) -> int:
    """Write docs/events/ unless the new generation breaks what is published there."""
    target = Path(argv[0] if argv else "docs/events")
    incompatible = check(published_schemas(target), contract_schemas()) if target.is_dir() else []
    if incompatible:
        print(report(incompatible), file=sys.stderr)
        print(f"{target} left as it was.", file=sys.stderr)
        return 1
    target.mkdir(parents=True, exist_ok=True)
    for stale in target.glob("*.json"):
        stale.unlink()
    for name, content in generate().items():
        (target / name).write_text(content, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
