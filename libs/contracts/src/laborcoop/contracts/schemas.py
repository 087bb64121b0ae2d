"""JSON Schemas of every event payload and the AsyncAPI 3.0 document, generated from the models.

``python -m laborcoop.contracts.schemas docs/events`` writes them; a test compares the committed
copies with a fresh generation, so an unreviewed contract change fails the build.
"""

import json
import sys
from pathlib import Path
from typing import Any

import laborcoop.contracts  # noqa: F401 - registers every event type
from laborcoop.contracts import topics
from laborcoop.contracts.envelope import CloudEvent
from laborcoop.contracts.events import EventSpec, all_specs


def payload_schema(spec: EventSpec) -> dict[str, Any]:
    schema = spec.payload.model_json_schema()
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": spec.schema_uri,
        **schema,
    }


def _message(spec: EventSpec) -> dict[str, Any]:
    return {
        "name": spec.type,
        "title": spec.payload.__name__,
        "summary": (spec.payload.__doc__ or "").strip().splitlines()[0]
        if spec.payload.__doc__
        else spec.type,
        "contentType": "application/cloudevents+json",
        "headers": {"$ref": "#/components/schemas/KafkaHeaders"},
        "payload": {
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
        },
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
            "messages": {
                s.type.replace(".", "_"): {
                    "$ref": f"#/components/messages/{s.type.replace('.', '_')}"
                }
                for s in members
            },
        }
        operations[f"publish_{key}"] = {"action": "send", "channel": {"$ref": f"#/channels/{key}"}}
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "laborcoop events",
            "version": "1.0.0",
            "description": "Facts published by laborcoop's services: CloudEvents 1.0, structured "
            "JSON mode, at-least-once; deduplicate by `id`, order per `subject` by `sequence`.",
        },
        "defaultContentType": "application/cloudevents+json",
        "channels": channels,
        "operations": operations,
        "components": {
            "messages": {s.type.replace(".", "_"): _message(s) for s in specs},
            "schemas": {
                "CloudEvent": CloudEvent.model_json_schema(),
                "KafkaHeaders": {
                    "type": "object",
                    "properties": {
                        "ce_type": {"type": "string"},
                        "ce_id": {"type": "string"},
                        "traceparent": {"type": "string"},
                        "content-type": {"const": "application/cloudevents+json"},
                    },
                },
            },
        },
    }


def generate() -> dict[str, str]:
    """File name -> content of everything under docs/events/."""
    files = {f"{s.type}.json": _dump(payload_schema(s)) for s in all_specs()}
    files["cloudevent.json"] = _dump(CloudEvent.model_json_schema())
    files["asyncapi.json"] = _dump(asyncapi())
    return files


def _dump(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False, sort_keys=True) + "\n"


def main(argv: list[str]) -> None:
    target = Path(argv[0] if argv else "docs/events")
    target.mkdir(parents=True, exist_ok=True)
    for stale in target.glob("*.json"):
        stale.unlink()
    for name, content in generate().items():
        (target / name).write_text(content, encoding="utf-8")


if __name__ == "__main__":
    main(sys.argv[1:])
