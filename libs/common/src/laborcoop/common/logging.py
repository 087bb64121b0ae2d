"""JSON-lines logging that carries the current trace id, with a broker outage condensed.

While Kafka is unreachable the Kafka client logs an error for every connection attempt of every
producer and consumer (about 2,000 lines in 28 s in one service), and the relay and consumers a
warning for every retry. :class:`BrokerOutageLog` lets the first of them through as "kafka broker
unreachable", then at most one summary per interval with the number held back, and writes one
"kafka broker reachable again" when the relay or a consumer reaches the broker
(:func:`broker_reachable`). The metrics (outbox backlog and age, relay leadership) carry the rest.
"""

import json
import logging
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Final

from opentelemetry import trace

_RESERVED: Final = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        context = trace.get_current_span().get_span_context()
        if context.is_valid:
            line["trace_id"] = format(context.trace_id, "032x")
            line["span_id"] = format(context.span_id, "016x")
        line.update({k: v for k, v in record.__dict__.items() if k not in _RESERVED})
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


BROKER_ERROR: Final = "broker_error"
"""``extra={BROKER_ERROR: True}`` marks a record of ours as one more symptom of a broker outage."""
SUMMARY_INTERVAL_S: Final = 60.0
_KAFKA_CLIENT: Final = "aiokafka"
_LOGGER: Final = "laborcoop.common.kafka"
_CONNECT_FAILURE: Final = "Unable connect to"


class BrokerOutageLog(logging.Filter):
    """A handler filter that condenses the records of a broker outage (see the module docstring).

    A record belongs to the outage when it comes from the Kafka client (``aiokafka*``) at
    WARNING or above, or carries ``BROKER_ERROR``. An outage also ends, for this filter, once no
    such record came for an interval: the next one is logged as a new loss of the broker.
    """

    def __init__(
        self, interval_s: float = SUMMARY_INTERVAL_S, clock: Callable[[], float] = time.monotonic
    ) -> None:
        super().__init__()
        self._interval = interval_s
        self._clock = clock
        self._since: float | None = None  # when the outage began; None while the broker answers
        self._last_written = 0.0
        self._last_seen = 0.0
        self._held_back = 0

    def filter(self, record: logging.LogRecord) -> bool:
        if not _is_broker_error(record):
            return True
        if _is_client_failure(record):
            for listener in list(_failure_listeners):
                listener()
        now = self._clock()
        if self._since is None or now - self._last_seen >= self._interval:
            self._since, self._held_back = now, 0
            self._rewrite(record, "kafka broker unreachable; its errors are condensed from now on")
        elif now - self._last_written >= self._interval:
            self._rewrite(
                record,
                f"kafka broker still unreachable after {now - self._since:.0f} s;"
                f" {self._held_back} client error(s) held back since the last line",
            )
            self._held_back = 0
        else:
            self._held_back += 1
            self._last_seen = now
            return False
        self._last_seen = self._last_written = now
        return True

    def reachable(self) -> None:
        """The broker answered: end the outage with one line (nothing when there was none)."""
        if self._since is None:
            return
        down_for, held_back = self._clock() - self._since, self._held_back
        self._since, self._held_back = None, 0
        logging.getLogger(_LOGGER).warning(
            "kafka broker reachable again",
            extra={"unreachable_s": round(down_for, 1), "held_back": held_back},
        )

    def _rewrite(self, record: logging.LogRecord, message: str) -> None:
        """One line in place of the client's record: the original message as ``error``, no
        traceback (the same one would repeat on every line)."""
        record.error = record.getMessage()
        record.msg, record.args = message, None
        record.name = _LOGGER
        record.levelno, record.levelname = logging.WARNING, "WARNING"
        record.exc_info = record.exc_text = None


def _is_broker_error(record: logging.LogRecord) -> bool:
    if getattr(record, BROKER_ERROR, False):
        return True
    from_client = record.name == _KAFKA_CLIENT or record.name.startswith(_KAFKA_CLIENT + ".")
    return from_client and record.levelno >= logging.WARNING


def _is_client_failure(record: logging.LogRecord) -> bool:
    """The Kafka client could not connect to the broker (its "Unable connect to …" errors): not
    any client error, since some (a group coordinator not ready at start-up) are routine."""
    return (
        record.name.startswith(_KAFKA_CLIENT)
        and record.levelno >= logging.ERROR
        and str(record.msg).startswith(_CONNECT_FAILURE)
    )


_failure_listeners: list[Callable[[], None]] = []


def on_broker_failure(listener: Callable[[], None]) -> Callable[[], None]:
    """Call ``listener`` (on the thread that logs, the event loop's for aiokafka) whenever the
    Kafka client reports a failure; returns the function that stops it. The relay uses it to
    give up a batch at the first sign of an outage instead of letting the client retry its
    connection in a tight loop until the request times out."""
    _failure_listeners.append(listener)
    return lambda: _failure_listeners.remove(listener)


_broker_log = BrokerOutageLog()


def broker_reachable() -> None:
    """Called where the broker has just answered (a producer started, a send acknowledged, a
    consumer joined or committed): ends a logged outage. Cheap when there is none."""
    _broker_log.reachable()


def configure_logging(level: str = "INFO", *, clock: Callable[[], float] = time.monotonic) -> None:
    """JSON lines on stderr; ``clock`` paces the outage summaries (tests pass a manual one)."""
    global _broker_log  # noqa: PLW0603 - one filter per process, renewed with its handler
    _broker_log = BrokerOutageLog(clock=clock)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(_broker_log)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    logging.getLogger("aiokafka").setLevel(logging.WARNING)
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
