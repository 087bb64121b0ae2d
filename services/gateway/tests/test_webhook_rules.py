"""Pure rules of webhook delivery: the retry schedule with jitter and Retry-After, giving up,
disabling, the refused addresses and URL forms, secrets sealed at rest, and signatures checked
by the ``standardwebhooks`` library (not our code)."""

import errno
import ipaddress
import socket
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from laborcoop.gateway.subscriptions.safety import (
    Refused,
    check_addresses,
    check_target,
    check_url_form,
    forbidden,
)
from laborcoop.gateway.subscriptions.schedule import Policy, Verdict, retry_after
from laborcoop.gateway.subscriptions.secrets import (
    SecretBox,
    SecretUnreadable,
    new_key,
    new_secret,
)
from laborcoop.gateway.subscriptions.sending import headers
from laborcoop.testing.network import RemoteConnectionRefused

NOW = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)
POLICY = Policy(
    schedule_s=[5, 300, 1800, 7200, 18000, 36000, 36000],
    jitter=0.2,
    retry_after_max_s=3600,
    disable_after_s=432_000,
)


def test_the_default_schedule_retries_for_about_a_day() -> None:
    assert POLICY.attempts == 8
    total_h = sum(POLICY.schedule_s) / 3600
    assert 24 <= total_h <= 30


@pytest.mark.parametrize("rand", [0.0, 0.5, 0.999])
def test_each_retry_waits_its_delay_spread_by_the_jitter(rand: float) -> None:
    for attempt, base in enumerate(POLICY.schedule_s, start=1):
        delay = POLICY.delay(attempt, rand=lambda: rand)
        assert delay is not None
        assert base * 0.8 <= delay <= base * 1.2
    assert POLICY.delay(1, rand=lambda: 0.5) == 5.0  # the middle of the spread: no change


def test_the_delays_grow_and_the_last_attempt_is_not_retried() -> None:
    delays = [POLICY.delay(n, rand=lambda: 0.5) or 0.0 for n in range(1, POLICY.attempts)]
    assert delays == sorted(delays)
    assert all(delays)
    assert POLICY.delay(POLICY.attempts, rand=lambda: 0.5) is None


def test_a_retry_after_longer_than_the_delay_is_respected_up_to_its_cap() -> None:
    assert POLICY.delay(1, 60, rand=lambda: 0.5) == 60
    assert POLICY.delay(1, 1, rand=lambda: 0.5) == 5  # never sooner than the schedule
    assert POLICY.delay(1, 10 * 86_400, rand=lambda: 0.5) == 3600  # capped


def test_retry_after_reads_seconds_and_http_dates() -> None:
    assert retry_after("120", NOW) == 120
    assert retry_after(" 7 ", NOW) == 7
    assert retry_after("Sat, 01 Mar 2025 08:02:00 GMT", NOW) == 120
    assert retry_after("Sat, 01 Mar 2025 07:00:00 GMT", NOW) == 0  # in the past: now
    assert retry_after(None, NOW) is None
    assert retry_after("soon", NOW) is None
    assert retry_after("-5", NOW) is None


@pytest.mark.parametrize(
    ("status", "attempt", "verdict"),
    [
        (200, 1, Verdict.DELIVERED),
        (204, 8, Verdict.DELIVERED),
        (410, 1, Verdict.GONE),
        (500, 1, Verdict.RETRY),
        (429, 7, Verdict.RETRY),
        (302, 1, Verdict.RETRY),  # redirects are not followed: a failed attempt
        (None, 3, Verdict.RETRY),  # no answer (timeout, refused address)
        (500, 8, Verdict.GIVE_UP),
        (None, 8, Verdict.GIVE_UP),
    ],
)
def test_what_an_answer_means(status: int | None, attempt: int, verdict: Verdict) -> None:
    assert POLICY.verdict(status, attempt) is verdict


def test_a_subscription_failing_for_longer_than_the_setting_is_disabled() -> None:
    limit = timedelta(seconds=POLICY.disable_after_s)
    assert not POLICY.should_disable(None, NOW)
    assert not POLICY.should_disable(NOW - limit + timedelta(seconds=1), NOW)
    assert POLICY.should_disable(NOW - limit, NOW)
    assert POLICY.should_disable(NOW - 2 * limit, NOW)


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "127.8.9.10",
        "10.0.0.5",
        "172.16.3.4",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",  # noqa: S104 — an address refused, not bound
        "224.0.0.1",
        "255.255.255.255",
        "::1",
        "::",
        "fe80::1",
        "fd00:ec2::254",
        "fc00::1",
        "ff02::1",
        "::ffff:127.0.0.1",
        "::ffff:169.254.169.254",
        "2002:7f00:1::",  # 6to4 of 127.0.0.1
    ],
)
def test_private_loopback_link_local_and_metadata_addresses_are_refused(address: str) -> None:
    assert forbidden(ipaddress.ip_address(address))
    with pytest.raises(Refused):
        check_addresses("target.example", ["93.184.216.34", address])


@pytest.mark.parametrize("address", ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111"])
def test_public_addresses_are_allowed(address: str) -> None:
    assert not forbidden(ipaddress.ip_address(address))
    assert check_addresses("target.example", [address]) == [address]


def test_a_name_that_resolves_to_nothing_is_refused() -> None:
    with pytest.raises(Refused, match="does not resolve"):
        check_addresses("nowhere.example", [])


@pytest.mark.parametrize(
    "url",
    [
        "http://hr.example.cn/hook",  # plain http to a host not listed
        "ftp://hr.example.cn/hook",
        "https://user:pw@hr.example.cn/hook",
        "https:///hook",
        "https://hr.example.cn/hook#part",
        "https://hr.example.cn:99999/hook",
        "https://hr.example.cn/" + "x" * 2100,
    ],
)
def test_urls_of_a_refused_form(url: str) -> None:
    with pytest.raises(Refused):
        check_url_form(url, http_hosts=["127.0.0.1"])


def test_plain_http_only_to_the_listed_hosts() -> None:
    assert check_url_form("http://127.0.0.1:8080/hook", ["127.0.0.1"]) == ("127.0.0.1", 8080)
    assert check_url_form("https://hr.example.cn/hook", []) == ("hr.example.cn", 443)
    with pytest.raises(Refused):
        check_url_form("http://127.0.0.1:8080/hook", [])


async def test_a_name_is_checked_by_what_it_resolves_to() -> None:
    names = {"public.example": ["93.184.216.34"], "inside.example": ["10.1.2.3"]}

    async def resolve(host: str, port: int) -> list[str]:
        if host not in names:
            raise OSError("no such name")
        return names[host]

    await check_target("https://public.example/hook", [], resolve)
    for url in (
        "https://inside.example/hook",
        "https://nowhere.example/hook",
        "https://127.0.0.1/hook",
        "https://[fd00:ec2::254]/hook",
        "https://169.254.169.254/latest/meta-data",
    ):
        with pytest.raises(Refused):
            await check_target(url, [], resolve)
    await check_target("http://127.0.0.1:9/hook", ["127.0.0.1"], resolve)  # development


def test_secrets_are_sealed_and_open_only_for_their_subscription() -> None:
    box = SecretBox.from_setting(new_key())
    secret = new_secret()
    subscription, other = uuid4(), uuid4()
    sealed = box.seal(secret, subscription)
    assert secret not in sealed
    assert secret.startswith("whsec_")
    assert box.open(sealed, subscription) == secret
    with pytest.raises(SecretUnreadable):
        box.open(sealed, other)
    with pytest.raises(SecretUnreadable):
        SecretBox.from_setting(new_key()).open(sealed, subscription)


def test_signatures_verify_with_the_standard_webhooks_library() -> None:
    old, new = new_secret(), new_secret()
    body = b'{"specversion":"1.0","id":"e1"}'
    now = int(datetime.now(UTC).timestamp())
    sent = headers("e1", now, body, [new, old])
    assert len(sent["webhook-signature"].split(" ")) == 2
    assert Webhook(new).verify(body, sent) == {"specversion": "1.0", "id": "e1"}
    assert Webhook(old).verify(body, sent) == {"specversion": "1.0", "id": "e1"}
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(body, sent)
    with pytest.raises(WebhookVerificationError):
        Webhook(new).verify(body + b" ", sent)


def test_the_tests_reach_this_machine_only() -> None:
    """The suite's guard (``laborcoop.testing.network``): a webhook or ping under test that
    targets a public address is refused at once, without touching the network."""
    with socket.socket() as remote, pytest.raises(RemoteConnectionRefused, match="only this"):
        remote.connect(("1.1.1.1", 443))
    with socket.socket() as remote:
        assert remote.connect_ex(("93.184.216.34", 443)) == errno.ECONNREFUSED
    with socket.socket() as listening, socket.socket() as local:
        listening.bind(("127.0.0.1", 0))
        listening.listen()
        local.connect(listening.getsockname())  # loopback: allowed
