"""A broker outage through the configured logging: one line when the broker is lost, a summary
at most once a minute, one when it is back — not one line per client error."""

import json
import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from laborcoop.common.logging import (
    BROKER_ERROR,
    broker_reachable,
    configure_logging,
    on_broker_failure,
)

CLIENT_LOGGERS = ("aiokafka", "aiokafka.conn", "aiokafka.client", "aiokafka.producer.sender")


class ManualClock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.configure: Callable[[], None] = lambda: None

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Iterator[ManualClock]:
    """The configured logging on a manual clock, writing to the stderr of the test body (where
    capsys reads it); the test run's own logging restored after."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    manual = ManualClock()
    manual.configure = lambda: configure_logging("INFO", clock=manual)
    yield manual
    root.handlers[:] = handlers
    root.setLevel(level)


def _client_errors(count: int) -> None:
    for i in range(count):
        try:
            raise ConnectionRefusedError(111, "Connect call failed ('127.0.0.1', 59092)")
        except OSError:
            logging.getLogger(CLIENT_LOGGERS[i % len(CLIENT_LOGGERS)]).error(
                "Unable connect to node with id 1: %s",
                "[Errno 111] Connect call failed",
                exc_info=True,
            )


def _lines(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    return [json.loads(line) for line in capsys.readouterr().err.splitlines()]


def test_a_thousand_client_errors_are_one_line_and_the_return_one_more(
    clock: ManualClock, capsys: pytest.CaptureFixture[str]
) -> None:
    clock.configure()
    _client_errors(1000)
    relay = logging.getLogger("laborcoop.common.outbox")
    for _ in range(30):
        relay.warning("kafka unavailable; outbox keeps events", extra={BROKER_ERROR: True})
    clock.now += 28
    broker_reachable()

    lost, back = _lines(capsys)
    assert lost["message"].startswith("kafka broker unreachable")
    assert lost["error"] == "Unable connect to node with id 1: [Errno 111] Connect call failed"
    assert "exception" not in lost
    assert back["message"] == "kafka broker reachable again"
    assert (back["unreachable_s"], back["held_back"]) == (28, 1029)


def test_a_long_outage_writes_one_summary_a_minute(
    clock: ManualClock, capsys: pytest.CaptureFixture[str]
) -> None:
    clock.configure()
    for _ in range(5):  # five minutes, an error every second
        for _ in range(60):
            _client_errors(1)
            clock.now += 1
    lines = _lines(capsys)
    assert len(lines) == 5
    assert [line["message"].split(";")[0] for line in lines[1:]] == [
        f"kafka broker still unreachable after {60 * n} s" for n in range(1, 5)
    ]
    assert all("59 client error(s) held back" in line["message"] for line in lines[1:])


def test_after_a_quiet_interval_a_new_error_is_a_new_outage(
    clock: ManualClock, capsys: pytest.CaptureFixture[str]
) -> None:
    clock.configure()
    _client_errors(3)
    clock.now += 600  # no broker error for ten minutes (the broker came back unnoticed)
    _client_errors(3)
    assert [line["message"].split(";")[0] for line in _lines(capsys)] == [
        "kafka broker unreachable",
        "kafka broker unreachable",
    ]


def test_other_records_pass_untouched_and_no_outage_means_no_return_line(
    clock: ManualClock, capsys: pytest.CaptureFixture[str]
) -> None:
    clock.configure()
    broker_reachable()
    logging.getLogger("laborcoop.registry").error("a real error")
    logging.getLogger("laborcoop.common.consumer").warning(
        "database unavailable; retrying the event"
    )
    logging.getLogger("aiokafka.consumer").info("joined group")  # below the client's level
    assert [(line["logger"], line["message"]) for line in _lines(capsys)] == [
        ("laborcoop.registry", "a real error"),
        ("laborcoop.common.consumer", "database unavailable; retrying the event"),
    ]


def test_client_failures_reach_the_listeners_until_they_stop(clock: ManualClock) -> None:
    clock.configure()
    heard: list[int] = []
    stop = on_broker_failure(lambda: heard.append(1))
    _client_errors(2)
    logging.getLogger("aiokafka").warning("Heartbeat failed: rebalancing")  # not a failure
    logging.getLogger("aiokafka.consumer.group_coordinator").error(
        "Group Coordinator Request failed: [Error 15] GroupCoordinatorNotAvailableError"
    )  # routine at start-up: a relay must not give up a healthy batch for it
    stop()
    _client_errors(1)
    assert heard == [1, 1]
