"""A partner's direct Kafka consumer of laborcoop events: laborcoop-contracts and aiokafka only.

    python consumer.py --bootstrap kafka.example:9092 --group hunan.brand-mirror \\
        --topic laborcoop.registry.brands [--province 430000] [--max-events 100]

It follows the rules of docs/events.md ("How to consume"): decode the CloudEvent and its typed
payload with ``laborcoop.contracts``, skip unknown types and records it cannot decode (counting
them, never failing), apply each event id once, apply per aggregate (``subject``) only events
newer than the version held (``sequence``), and commit offsets only after the batch is handled.
"Applying" here prints one JSON line per event on stdout; a real consumer writes its own store
and keeps the seen ids and versions there, in the transaction of its effect, not in memory.
"""

import argparse
import asyncio
import json
import signal
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from aiokafka import AIOKafkaConsumer
from pydantic import ValidationError

from laborcoop.contracts import CloudEvent, decode, spec_for

Outcome = Literal["applied", "duplicate", "stale", "unknown_type", "undecodable", "filtered"]


@dataclass
class Mirror:
    """What the consumer keeps: the ids it applied and the version it holds per aggregate."""

    province: str | None = None
    applied_ids: set[str] = field(default_factory=set)
    versions: dict[str, int] = field(default_factory=dict)
    outcomes: Counter[str] = field(default_factory=Counter)

    def handle(self, value: bytes | None) -> Outcome:
        outcome = self._outcome(value)
        self.outcomes[outcome] += 1
        return outcome

    def _outcome(self, value: bytes | None) -> Outcome:
        try:
            event = CloudEvent.from_json_bytes(value or b"")
            skipped = self._skipped(event)
            if skipped is not None:
                return skipped
            payload = decode(event)
        except ValidationError:
            return "undecodable"  # a real consumer keeps the record aside (its own DLQ)
        self.apply(event, payload.model_dump(mode="json"))
        self.applied_ids.add(event.id)
        self.versions[event.subject] = event.version
        return "applied"

    def _skipped(self, event: CloudEvent) -> Outcome | None:
        """Why ``event`` is not applied, or None to apply it."""
        if spec_for(event.type) is None:
            return "unknown_type"  # a type newer than this copy of the contracts
        if self.province is not None and self.province not in event.province_codes:
            return "filtered"
        if event.id in self.applied_ids:
            return "duplicate"  # delivered again: at-least-once
        if event.version <= self.versions.get(event.subject, 0):
            return "stale"  # an older event of an aggregate already further on
        return None

    def apply(self, event: CloudEvent, payload: dict[str, Any]) -> None:
        line = {
            "id": event.id,
            "type": event.type,
            "subject": event.subject,
            "version": event.version,
            "data": payload,
        }
        print(json.dumps(line, ensure_ascii=False), flush=True)


async def consume(
    *,
    bootstrap: str,
    group: str,
    topics: Sequence[str],
    mirror: Mirror,
    max_events: int | None = None,
) -> None:
    """Read ``topics`` in consumer group ``group`` until stopped (SIGINT/SIGTERM) or until
    ``max_events`` events were applied."""
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stopping.set)
    consumer = AIOKafkaConsumer(
        *topics,
        bootstrap_servers=bootstrap,
        group_id=group,
        enable_auto_commit=False,  # commit after the effect, never before
        auto_offset_reset="earliest",  # a new group starts from the oldest retained event
        isolation_level="read_committed",
    )
    await consumer.start()
    try:
        while not stopping.is_set():
            batch = await consumer.getmany(timeout_ms=500, max_records=500)
            for records in batch.values():
                for record in records:
                    mirror.handle(record.value)
            if batch:
                await consumer.commit()
            if max_events is not None and mirror.outcomes["applied"] >= max_events:
                break
    finally:
        await consumer.stop()  # leaves the group, so its partitions move on at once
        print(json.dumps({"outcomes": dict(mirror.outcomes)}), file=sys.stderr, flush=True)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bootstrap", required=True, help="Kafka bootstrap servers, host:port")
    parser.add_argument(
        "--group", required=True, help="consumer group, <partner>.<purpose>: hunan.brand-mirror"
    )
    parser.add_argument("--topic", action="append", required=True, help="repeat for several")
    parser.add_argument("--province", help="only events concerning this GB/T 2260 province")
    parser.add_argument("--max-events", type=int, help="stop after applying this many")
    args = parser.parse_args(argv)
    asyncio.run(
        consume(
            bootstrap=args.bootstrap,
            group=args.group,
            topics=args.topic,
            mirror=Mirror(province=args.province),
            max_events=args.max_events,
        )
    )


if __name__ == "__main__":
    main()
