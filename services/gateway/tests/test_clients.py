"""The operators' side of clients: ``laborcoop-gateway clients create|list|rotate-secret|disable``,
the rotation's grace period, and secrets that appear once and never in a log."""

import argparse
import json
import logging
from datetime import timedelta
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest

from laborcoop.gateway import cli
from laborcoop.gateway.settings import GatewaySettings
from laborcoop.testing.leaks import WATCH
from services.gateway.tests.conftest import CLIENT_CREDENTIALS, HUNAN, Gateway


async def run_clients(
    settings: GatewaySettings, capsys: pytest.CaptureFixture[str], *arguments: str
) -> list[dict[str, Any]]:
    """``laborcoop-gateway clients …`` on ``settings``: the JSON lines it printed."""
    parser = argparse.ArgumentParser()
    cli.client_arguments(parser)
    await cli.CLIENTS.run(settings, parser.parse_args(arguments))
    out = capsys.readouterr().out
    return [json.loads(line) for line in out.splitlines()]


async def test_create_prints_the_id_and_the_secret_once(
    gateway: Gateway, capsys: pytest.CaptureFixture[str]
) -> None:
    [made] = await run_clients(
        gateway.settings, capsys, "create", "--name", "湖南省人社厅", "--province", HUNAN,
        "--roles", "province,observer",
    )  # fmt: skip
    assert set(made) == {"client_id", "client_secret", "name", "province", "roles"}
    assert (made["name"], made["province"], made["roles"]) == (
        "湖南省人社厅",
        HUNAN,
        ["province", "observer"],
    )
    secret = made["client_secret"]
    assert len(secret) >= 43  # 32 random bytes, URL-safe base64
    assert set(secret) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    answer = await gateway.token(auth=(made["client_id"], secret))
    assert answer.status_code == 200, answer.text

    stored = await gateway.pool.fetchrow("SELECT * FROM clients")
    assert stored is not None
    assert secret not in json.dumps({k: str(v) for k, v in dict(stored).items()})
    assert stored["secret_hash"].startswith("$argon2id$")

    listed = await run_clients(gateway.settings, capsys, "list")
    assert [c["client_id"] for c in listed] == [made["client_id"]]
    assert secret not in json.dumps(listed)
    assert not any("secret" in key and "valid" not in key for key in listed[0])
    assert "$argon2" not in json.dumps(listed)
    assert listed[0]["status"] == "active"


@pytest.mark.parametrize(
    ("arguments", "says"),
    [
        (["--roles", "province"], "a province client names its province"),
        (["--roles", "province", "--province", "999999"], "not a GB/T 2260 province code"),
        (["--roles", "admin"], "unknown role(s) admin"),
        (["--roles", ","], "at least one role"),
    ],
)
async def test_create_refuses_a_client_the_services_would_refuse(
    gateway: Gateway, capsys: pytest.CaptureFixture[str], arguments: list[str], says: str
) -> None:
    with pytest.raises(SystemExit) as refused:
        await run_clients(gateway.settings, capsys, "create", "--name", "x", *arguments)
    assert says in str(refused.value)
    assert await gateway.pool.fetchval("SELECT count(*) FROM clients") == 0


async def test_list_pages_through_every_client(
    gateway: Gateway, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cli, "_PAGE", 2)
    made = [await gateway.new_client(name=f"client {i}") for i in range(5)]
    listed = await run_clients(gateway.settings, capsys, "list")
    assert sorted(c["client_id"] for c in listed) == sorted(client_id for client_id, _ in made)


async def test_rotation_keeps_the_old_secret_until_its_deadline(
    gateway: Gateway, capsys: pytest.CaptureFixture[str]
) -> None:
    client_id, old = await gateway.new_client()
    [rotated] = await run_clients(
        gateway.settings, capsys, "rotate-secret", client_id, "--grace-hours", "2"
    )
    new = rotated["client_secret"]
    assert new != old
    assert rotated["previous_secret_valid_until"] is not None
    for secret in (old, new):
        assert (await gateway.token(auth=(client_id, secret))).status_code == 200

    gateway.clock.advance(hours=1, minutes=59)
    assert (await gateway.token(auth=(client_id, old))).status_code == 200
    gateway.clock.advance(minutes=2)
    answer = await gateway.token(auth=(client_id, old))
    assert (answer.status_code, answer.json()["error"]) == (401, "invalid_client")
    assert (await gateway.token(auth=(client_id, new))).status_code == 200


async def test_rotation_grace_defaults_to_the_settings(
    gateway_with: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    async with gateway_with(client_secret_grace_hours=0.5) as gateway:
        client_id, old = await gateway.new_client()
        [rotated] = await run_clients(gateway.settings, capsys, "rotate-secret", client_id)
        assert rotated["previous_secret_valid_until"] is not None
        gateway.clock.advance(minutes=29)
        assert (await gateway.token(auth=(client_id, old))).status_code == 200
        gateway.clock.advance(minutes=2)
        assert (await gateway.token(auth=(client_id, old))).status_code == 401


async def test_rotation_without_grace_refuses_the_old_secret_at_once(gateway: Gateway) -> None:
    client_id, old = await gateway.new_client()
    new = await gateway.rotate(client_id, timedelta(0))
    assert (await gateway.token(auth=(client_id, old))).status_code == 401
    assert (await gateway.token(auth=(client_id, new))).status_code == 200


async def test_a_second_rotation_drops_the_first_secret(gateway: Gateway) -> None:
    client_id, first = await gateway.new_client()
    second = await gateway.rotate(client_id, timedelta(hours=1))
    third = await gateway.rotate(client_id, timedelta(hours=1))
    assert (await gateway.token(auth=(client_id, first))).status_code == 401
    for secret in (second, third):
        assert (await gateway.token(auth=(client_id, secret))).status_code == 200


async def test_disable_refuses_the_client_at_once(
    gateway: Gateway, capsys: pytest.CaptureFixture[str]
) -> None:
    client_id, secret = await gateway.new_client()
    assert (await gateway.token(auth=(client_id, secret))).status_code == 200
    [disabled] = await run_clients(gateway.settings, capsys, "disable", client_id)
    assert disabled["client_id"] == client_id
    assert disabled["disabled_at"] is not None
    answer = await gateway.token(auth=(client_id, secret))
    assert (answer.status_code, answer.json()["error"]) == (400, "unauthorized_client")
    [listed] = await run_clients(gateway.settings, capsys, "list")
    assert listed["status"] == "disabled"
    # Disabling again changes nothing; a disabled client's secret does not rotate.
    [again] = await run_clients(gateway.settings, capsys, "disable", client_id)
    assert again["disabled_at"] == disabled["disabled_at"]
    with pytest.raises(SystemExit, match="disabled"):
        await run_clients(gateway.settings, capsys, "rotate-secret", client_id)


async def test_an_unknown_client_id_is_named(
    gateway: Gateway, capsys: pytest.CaptureFixture[str]
) -> None:
    unknown = str(uuid4())
    for action in ("rotate-secret", "disable"):
        with pytest.raises(SystemExit, match=f"no client {unknown}"):
            await run_clients(gateway.settings, capsys, action, unknown)


async def test_secrets_never_reach_a_log(
    gateway: Gateway, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    """Every path a secret takes — made, printed, rotated, sent right, sent wrong, sent twice,
    sent to a disabled client — and no log record holds it (nor the session's log watch)."""
    caplog.set_level(logging.DEBUG)
    watched = len(WATCH.log_lines)
    [made] = await run_clients(
        gateway.settings, capsys, "create", "--name", "湖北省人社厅", "--province", "420000",
        "--roles", "province",
    )  # fmt: skip
    client_id, first = made["client_id"], made["client_secret"]
    [rotated] = await run_clients(gateway.settings, capsys, "rotate-secret", client_id)
    second = rotated["client_secret"]
    secrets = [first, second]
    tokens = []
    for secret in secrets:
        answer = await gateway.token(auth=(client_id, secret))
        tokens.append(answer.json()["access_token"])
        form = {**CLIENT_CREDENTIALS, "client_id": client_id, "client_secret": secret}
        await gateway.token(form, auth=(client_id, secret))  # both methods: invalid_request
        await gateway.token(auth=(client_id, secret + "x"))  # wrong
        await gateway.token(form, Authorization="Bearer " + secret)  # another scheme
    await run_clients(gateway.settings, capsys, "disable", client_id)
    await gateway.token(auth=(client_id, second))

    logged = [record.getMessage() + " " + str(vars(record)) for record in caplog.records]
    logged += WATCH.log_lines[watched:]
    for value in [*secrets, *tokens]:
        assert not any(value in line for line in logged)


async def test_demo_clients_are_made_once_and_kept_for_make_run(
    gateway: Gateway, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """`make run` prints the demo clients at its end; their secrets live in the stack's file."""
    settings = gateway.settings.model_copy(update={"environment": "development"})
    kept = tmp_path / "demo-clients.json"
    parser = argparse.ArgumentParser()
    cli.demo_client_arguments(parser)
    args = parser.parse_args(["--file", str(kept), "--url", "http://gw"])

    await cli.DEMO_CLIENTS.run(settings, args)
    first = capsys.readouterr().out
    entries = json.loads(kept.read_text())
    assert oct(kept.stat().st_mode & 0o777) == "0o600"
    assert [e["province"] for e in entries] == [
        "430000", "420000", "440000", "310000", "330000", "530000", None,
    ]  # fmt: skip
    assert entries[-1]["roles"] == ["ministry"]
    for entry in entries:
        assert entry["client_secret"] in first
    assert f"curl -s -u {entries[0]['client_id']}:{entries[0]['client_secret']}" in first
    assert "http://gw/v1/oauth/token" in first
    hunan = (entries[0]["client_id"], entries[0]["client_secret"])
    answer = await gateway.token(auth=hunan)
    assert answer.status_code == 200, answer.text

    await gateway.disable(entries[1]["client_id"])
    await cli.DEMO_CLIENTS.run(settings, args)
    capsys.readouterr()
    again = json.loads(kept.read_text())
    assert again[0] == entries[0]
    assert again[1]["client_id"] != entries[1]["client_id"]  # the disabled one is replaced
    assert await gateway.pool.fetchval("SELECT count(*) FROM clients") == 8

    with pytest.raises(SystemExit, match="development only"):
        await cli.DEMO_CLIENTS.run(gateway.settings, args)
