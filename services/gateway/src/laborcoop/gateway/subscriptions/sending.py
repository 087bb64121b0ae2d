"""One attempt to deliver one body to one receiver, signed as Standard Webhooks say.

The body is the CloudEvent as the event log holds it, byte for byte, with ``webhook-id`` (the
event id: the same on every retry and replay, so a receiver drops duplicates by it),
``webhook-timestamp`` (this attempt's unix time) and ``webhook-signature`` (one ``v1,`` signature
per live secret). The answer is read up to a small limit; redirects are not followed.
"""

import asyncio
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Final

import httpx

from laborcoop.contracts.envelope import CONTENT_TYPE
from laborcoop.gateway.subscriptions.schedule import retry_after
from laborcoop.gateway.subscriptions.secrets import signatures

USER_AGENT: Final = "laborcoop-webhooks/1"
MAX_ERROR_CHARS: Final = 500


@dataclass(frozen=True, slots=True)
class Attempt:
    status: int | None
    latency_ms: int
    error: str | None
    retry_after_s: float | None = None
    sent: bool = True
    """False when nothing went to the receiver (the event pruned, the secret unreadable)."""

    @property
    def delivered(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def headers(message_id: str, timestamp: int, body: bytes, live: list[str]) -> dict[str, str]:
    return {
        "content-type": CONTENT_TYPE,
        "user-agent": USER_AGENT,
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signatures(live, message_id, timestamp, body),
    }


async def attempt(
    client: httpx.AsyncClient,
    url: str,
    message_id: str,
    body: bytes,
    live: list[str],
    *,
    now: datetime,
    timeout_s: float,
    read_limit: int,
) -> Attempt:
    """POST ``body`` to ``url``; never raises for what the receiver or the network did.
    ``webhook-timestamp`` is the wall time of the attempt (receivers compare it with theirs),
    ``now`` the service clock a ``Retry-After`` date is read against."""
    sent = headers(message_id, int(time.time()), body, live)
    started = time.perf_counter()
    try:
        async with asyncio.timeout(timeout_s):
            async with client.stream("POST", url, content=body, headers=sent) as response:
                answer = await _read(response, read_limit)
    except TimeoutError:
        return Attempt(None, _ms(started), f"no answer within {timeout_s:g} s")
    except httpx.HTTPError as exc:
        return Attempt(None, _ms(started), (str(exc) or type(exc).__name__)[:MAX_ERROR_CHARS])
    status = response.status_code
    error = None
    if not 200 <= status < 300:
        error = answer.decode("utf-8", "replace")[:MAX_ERROR_CHARS] or None
        if 300 <= status < 400:
            error = "redirects are not followed"
    return Attempt(
        status, _ms(started), error, retry_after(response.headers.get("retry-after"), now)
    )


async def _read(response: httpx.Response, limit: int) -> bytes:
    """At most ``limit`` bytes of the answer (the rest is not read)."""
    kept = bytearray()
    async for chunk in response.aiter_raw():
        kept += chunk
        if len(kept) >= limit:
            break
    return bytes(kept[:limit])


def _ms(started: float) -> int:
    return round((time.perf_counter() - started) * 1000)
