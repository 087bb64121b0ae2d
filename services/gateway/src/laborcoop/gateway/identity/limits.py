"""The limit on failed client authentications, per client id and per source address (ADR 0012).

Each key (a client id as presented, or an address) keeps the times of its last ``limit``
failures. While ``limit`` of them fall within ``window_s``, the key is locked: the token endpoint
answers 429 without checking the secret, so guessing stops there, and a lock lifts when the oldest
of those failures leaves the window. Afterwards each further failure locks the key again until
the next one ages out: a steady guesser gets about ``limit`` tries per window.

The counts live in this replica's memory: they are lost on a restart, and with N replicas a
guesser spread over all of them gets up to N times the limit. At most :data:`MAX_KEYS` keys are
kept, the least recently failed forgotten first, so a flood of made-up client ids or addresses
cannot grow memory without bound.
"""

import math
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable
from typing import Final

MAX_KEYS: Final = 20_000


class FailureLimit:
    """Failures per key within a sliding window; ``clock`` gives seconds (the app's clock)."""

    def __init__(
        self, limit: int, window_s: float, *, clock: Callable[[], float], max_keys: int = MAX_KEYS
    ) -> None:
        self.limit = limit
        self.window_s = window_s
        self._clock = clock
        self._max_keys = max_keys
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()

    def retry_after(self, keys: Iterable[str]) -> int | None:
        """Seconds until every locked key among ``keys`` is free again; None when none is."""
        now = self._clock()
        waits = [wait for key in keys if (wait := self._locked_for(key, now)) > 0]
        return math.ceil(max(waits)) if waits else None

    def failed(self, keys: Iterable[str]) -> None:
        """Count one failure for each of ``keys``."""
        now = self._clock()
        for key in keys:
            times = self._failures.pop(key, None) or deque(maxlen=self.limit)
            times.append(now)
            self._failures[key] = times  # most recently failed last
        while len(self._failures) > self._max_keys:
            self._failures.popitem(last=False)

    def _locked_for(self, key: str, now: float) -> float:
        times = self._failures.get(key)
        if times is None:
            return 0.0
        if now - times[-1] >= self.window_s:
            del self._failures[key]  # every failure has left the window
            return 0.0
        if len(times) < self.limit:
            return 0.0
        return times[0] + self.window_s - now
