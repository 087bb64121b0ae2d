"""The examples work: the webhook receiver against signed requests, the Kafka consumer against the
test broker. Both run as a partner runs them, as scripts in a process of their own.

The requests are signed here by the Standard Webhooks rule itself (HMAC-SHA256 over
``{id}.{timestamp}.{body}``), not with the receiver's library, so the test checks the wire format
the gateway sends against what the receiver accepts.
"""

import asyncio
import base64
import hashlib
import hmac
import json
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from uuid import uuid4

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from laborcoop.contracts import CloudEvent, new_event
from laborcoop.contracts.brands import BrandRegistered, BrandRetired, BrandSuspended
from laborcoop.contracts.codes import BrandCategory
from laborcoop.testing import Stack

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def brand_registered(province: str = "430000", version: int = 1) -> CloudEvent:
    brand = uuid4()
    payload = BrandRegistered(
        brand_id=brand, name="湘西苗绣", province=province, category=BrandCategory.SKILLED_TRADES
    )
    return new_event(payload, subject=str(brand), version=version, provinces=[province])


# -- the webhook receiver ----------------------------------------------------------------------


def sign(key: bytes, webhook_id: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(key, f"{webhook_id}.{timestamp}.".encode() + body, hashlib.sha256)
    return "v1," + base64.b64encode(mac.digest()).decode()


@dataclass
class Receiver:
    url: str
    key: bytes
    process: "subprocess.Popen[str]"

    def deliver(
        self,
        event: CloudEvent,
        *,
        key: bytes | None = None,
        body: bytes | None = None,
        webhook_id: str | None = None,
        timestamp: int | None = None,
        signature: str | None = None,
    ) -> int:
        """POST ``event`` as the gateway does; the keywords spoil one part of the request."""
        content = event.to_json_bytes()
        sent_at = int(time.time()) if timestamp is None else timestamp
        headers = {
            "content-type": "application/cloudevents+json",
            "webhook-id": webhook_id or event.id,
            "webhook-timestamp": str(sent_at),
            "webhook-signature": signature
            or sign(key or self.key, webhook_id or event.id, sent_at, content),
        }
        answer = httpx.post(self.url, content=body or content, headers=headers, timeout=10)
        return answer.status_code

    def applied(self) -> list[dict[str, object]]:
        """Stop the receiver and read what it applied (one JSON line per event)."""
        self.process.terminate()
        output, _ = self.process.communicate(timeout=30)
        return [json.loads(line) for line in output.splitlines() if line.startswith("{")]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    key = secrets.token_bytes(24)
    process = subprocess.Popen(  # noqa: S603 - the example, fixed arguments
        [sys.executable, str(EXAMPLES / "webhook_receiver" / "receiver.py"), "--port", "0"],
        env={**os.environ, "WEBHOOK_SECRET": "whsec_" + base64.b64encode(key).decode()},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None
    banner = process.stderr.readline()  # "listening on http://127.0.0.1:PORT/"
    assert banner.startswith("listening on "), banner + process.stderr.read()
    yield Receiver(url=banner.split()[-1], key=key, process=process)
    if process.poll() is None:
        process.kill()
        process.communicate(timeout=30)


def test_the_receiver_applies_signed_deliveries_once(receiver: Receiver) -> None:
    first, second = brand_registered(), brand_registered("310000")

    assert receiver.deliver(first) == 204
    assert receiver.deliver(first) == 204  # the gateway's retry: same webhook-id, applied once
    rotating = f"v1,{base64.b64encode(b'x' * 32).decode()} " + sign(
        receiver.key, second.id, int(time.time()), second.to_json_bytes()
    )
    assert receiver.deliver(second, signature=rotating) == 204  # one of two signatures matches

    applied = receiver.applied()
    assert [(line["id"], line["type"]) for line in applied] == [
        (first.id, "cn.laborcoop.registry.brand.registered.v1"),
        (second.id, "cn.laborcoop.registry.brand.registered.v1"),
    ]
    assert applied[0]["data"] == first.data


def test_the_receiver_refuses_what_the_gateway_did_not_sign(receiver: Receiver) -> None:
    event = brand_registered()
    tampered = event.to_json_bytes().replace(b"430000", b"310000")

    assert receiver.deliver(event, key=secrets.token_bytes(24)) == 401  # another secret
    assert receiver.deliver(event, body=tampered) == 401  # the body changed after signing
    assert receiver.deliver(event, timestamp=int(time.time()) - 3600) == 401  # replayed late
    assert receiver.deliver(event, signature="v1") == 401  # malformed header
    assert receiver.deliver(event, webhook_id=str(uuid4())) == 400  # signed, but not the event's id
    assert receiver.applied() == []


# -- the Kafka consumer ------------------------------------------------------------------------


async def produce(bootstrap: str, topic: str, values: list[tuple[str, bytes]]) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)])
    finally:
        await admin.close()
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        for key, value in values:
            await producer.send_and_wait(topic, value, key=key.encode())
    finally:
        await producer.stop()


async def consume(
    bootstrap: str, topic: str, group: str, *options: str
) -> tuple[list[dict[str, object]], dict[str, int]]:
    """Run the example consumer until it stops by itself; its applied events and outcomes."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(EXAMPLES / "kafka_consumer" / "consumer.py"),
        *("--bootstrap", bootstrap, "--group", group, "--topic", topic, *options),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        output, errors = await asyncio.wait_for(process.communicate(), 90)
    finally:
        if process.returncode is None:  # it never stopped by itself: do not leave it running
            process.kill()
            await process.wait()
    assert process.returncode == 0, errors.decode()
    applied = [json.loads(line) for line in output.decode().splitlines()]
    (summary,) = [json.loads(line) for line in errors.decode().splitlines() if '"outcomes"' in line]
    return applied, summary["outcomes"]


async def test_the_consumer_decodes_deduplicates_orders_and_commits(
    stack: Stack, topic_prefix: str
) -> None:
    topic = f"{topic_prefix}laborcoop.registry.brands"
    group = f"{topic_prefix}hunan.brand-mirror"
    hunan = brand_registered("430000")
    subject = hunan.subject
    brand_id = hunan.data["brand_id"]
    suspended = new_event(
        BrandSuspended(brand_id=brand_id, reason="整改", suspended_by="province"),
        subject=subject,
        version=2,
        provinces=["430000"],
    )
    late_and_old = new_event(
        BrandRetired(brand_id=brand_id, reason="合并"),
        subject=subject,
        version=1,
        provinces=["430000"],
    )
    unknown = CloudEvent.model_validate(
        {**json.loads(hunan.to_json_bytes()), "id": str(uuid4()), "type": "cn.laborcoop.x.y.z.v9"}
    )
    shanghai = brand_registered("310000")
    await produce(
        stack.kafka_bootstrap,
        topic,
        [
            (subject, hunan.to_json_bytes()),
            (subject, suspended.to_json_bytes()),
            (subject, hunan.to_json_bytes()),  # delivered again
            (subject, late_and_old.to_json_bytes()),  # an older version, republished late
            (subject, unknown.to_json_bytes()),  # a type newer than the partner's contracts
            (subject, b"not a cloudevent"),
            (shanghai.subject, shanghai.to_json_bytes()),
        ],
    )

    applied, outcomes = await consume(stack.kafka_bootstrap, topic, group, "--max-events", "3")

    assert [(line["id"], line["version"]) for line in applied] == [
        (hunan.id, 1),
        (suspended.id, 2),
        (shanghai.id, 1),
    ]
    assert applied[1]["type"] == "cn.laborcoop.registry.brand.suspended.v1"
    assert applied[1]["data"] == suspended.data
    assert outcomes == {
        "applied": 3,
        "duplicate": 1,
        "stale": 1,
        "unknown_type": 1,
        "undecodable": 1,
    }

    # The group committed its offsets: a restart reads only what came after, here filtered.
    later_hunan, later_shanghai = brand_registered("430000"), brand_registered("310000")
    await produce(
        stack.kafka_bootstrap,
        topic,
        [(e.subject, e.to_json_bytes()) for e in (later_hunan, later_shanghai)],
    )
    applied, outcomes = await consume(
        stack.kafka_bootstrap, topic, group, "--max-events", "1", "--province", "310000"
    )
    assert [line["id"] for line in applied] == [later_shanghai.id]
    assert outcomes == {"filtered": 1, "applied": 1}
