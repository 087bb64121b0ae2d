"""The per-client rate limit of every gateway route: a token bucket per caller, in memory.

A caller is the client id of a valid bearer token, else the source address (a request without a
token, or with one that does not verify: it is refused by its route, but it was still sent).
Each caller's bucket holds at most ``burst`` requests and refills at ``rate_per_s``; a request
takes one, and when none is left the gateway answers 429 with ``Retry-After`` (the seconds until
one is back). The buckets live in this replica's memory, like the token endpoint's failure limit
(ADR 0012): a restart refills them, and with N replicas a client gets up to N times the rate.

At most :data:`MAX_CALLERS` buckets are kept, so a flood of addresses cannot grow memory without
bound: when a new caller would pass that, the buckets that have refilled are forgotten (a full
bucket and none are the same), and if that is not enough, the older half of the rest. Nothing
is reordered on the way of a request: a take is a lookup and some arithmetic.
"""

import math
import time
from collections.abc import Callable
from typing import Final

MAX_CALLERS: Final = 20_000


class RateLimit:
    """Token buckets by caller: :meth:`take` one request's token, or learn how long to wait."""

    def __init__(
        self,
        rate_per_s: float,
        burst: int,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_callers: int = MAX_CALLERS,
    ) -> None:
        self.rate_per_s = rate_per_s
        self.burst = burst
        self._clock = clock
        self._max_callers = max_callers
        self._buckets: dict[str, list[float]] = {}
        """Per caller: ``[tokens left, time they were counted]``, oldest caller first."""

    def __len__(self) -> int:
        return len(self._buckets)

    def take(self, caller: str) -> int | None:
        """None: the request may go on (a token was taken); else the whole seconds until the
        caller's bucket holds a token again (nothing was taken)."""
        now = self._clock()
        bucket = self._buckets.get(caller)
        if bucket is None:
            if len(self._buckets) >= self._max_callers:
                self._forget(now)
            self._buckets[caller] = [self.burst - 1.0, now]
            return None
        tokens = bucket[0] + (now - bucket[1]) * self.rate_per_s
        tokens = min(tokens, self.burst)
        if tokens < 1.0:
            return max(1, math.ceil((1.0 - tokens) / self.rate_per_s))
        bucket[0] = tokens - 1.0
        bucket[1] = now
        return None

    def _forget(self, now: float) -> None:
        """Make room: the refilled buckets go, then if need be the older half of the rest."""
        refilled_after = self.burst / self.rate_per_s
        kept = {c: b for c, b in self._buckets.items() if now - b[1] < refilled_after}
        if len(kept) >= self._max_callers:
            kept = dict(list(kept.items())[len(kept) // 2 :])
        self._buckets = kept
