"""When a failed delivery is retried, given up, or its subscription disabled (pure rules).

An attempt succeeds on a 2xx answer. Anything else fails it: another status (a 3xx too: redirects
are not followed), a timeout, a refused address, a connection error. A failed attempt is retried
after the next delay of the schedule, spread by jitter, and never sooner than the receiver's
``Retry-After`` (up to a cap); after the last delay it is given up. 410 Gone disables the
subscription at once; a subscription whose attempts have all failed for longer than a setting is
disabled too.
"""

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from enum import StrEnum
from typing import Final

GONE: Final = 410


class Verdict(StrEnum):
    DELIVERED = "delivered"
    RETRY = "retry"
    GIVE_UP = "give_up"
    GONE = "gone"


@dataclass(frozen=True, slots=True)
class Policy:
    """The retry rules of the settings (``LABORCOOP_WEBHOOK_RETRY_*``)."""

    schedule_s: Sequence[float]
    jitter: float
    retry_after_max_s: float
    disable_after_s: float

    @property
    def attempts(self) -> int:
        """How many attempts a delivery gets: the first and one per delay of the schedule."""
        return len(self.schedule_s) + 1

    def delay(
        self,
        attempt: int,
        retry_after_s: float | None = None,
        rand: Callable[[], float] = random.random,
    ) -> float | None:
        """Seconds until the next attempt after attempt number ``attempt`` (1-based) failed,
        or None when it was the last."""
        if attempt >= self.attempts:
            return None
        base = self.schedule_s[attempt - 1]
        spread = base * (1 + self.jitter * (2 * rand() - 1))
        if retry_after_s is not None:
            spread = max(spread, min(retry_after_s, self.retry_after_max_s))
        return max(0.0, spread)

    def verdict(self, status: int | None, attempt: int) -> Verdict:
        """What the answer ``status`` (None: no answer) of attempt ``attempt`` means."""
        if status is not None and 200 <= status < 300:
            return Verdict.DELIVERED
        if status == GONE:
            return Verdict.GONE
        return Verdict.RETRY if attempt < self.attempts else Verdict.GIVE_UP

    def should_disable(self, failing_since: datetime | None, now: datetime) -> bool:
        """True when every attempt has failed since ``failing_since``, for too long."""
        return failing_since is not None and now - failing_since >= timedelta(
            seconds=self.disable_after_s
        )


def retry_after(value: str | None, now: datetime) -> float | None:
    """``Retry-After`` in seconds from now: delay-seconds or an HTTP date (RFC 9110 §10.2.3);
    None when absent or unreadable (then only the schedule counts)."""
    if value is None:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, (when - now).total_seconds())
