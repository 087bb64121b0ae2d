"""The operations endpoints every service serves: health, readiness, metrics."""

from uuid import uuid4

import httpx
import pytest
from fastapi import FastAPI

from laborcoop.common import cli
from laborcoop.common.deps import state_of
from laborcoop.registry.app import SPEC
from laborcoop.registry.settings import RegistrySettings
from laborcoop.testing import Stack, Tokens


async def test_health_readiness_and_metrics(
    client: httpx.AsyncClient, registry_app: FastAPI, tokens: Tokens
) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": "ok", "migrations": "ok"}
    await client.post(
        "/v1/brands",
        headers=tokens.province("360000"),
        json={"name": "南康木工", "province": "360000", "category": "skilled_trades"},
    )
    metrics = (await client.get("/metrics")).text
    assert 'laborcoop_outbox_backlog{service="registry"} 1.0' in metrics
    assert 'route="/v1/brands",service="registry",status="201"' in metrics


async def test_readiness_fails_while_migrations_are_pending(
    client: httpx.AsyncClient, registry_app: FastAPI
) -> None:
    await state_of(registry_app).pool.execute(
        "DELETE FROM schema_migrations WHERE name = 'laborcoop.registry.migrations:0001_brands.sql'"
    )
    answer = await client.get("/readyz")
    assert answer.status_code == 503
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["checks"]["migrations"] == "1 pending"


async def test_metrics_answer_when_the_database_cannot(
    client: httpx.AsyncClient, registry_app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A scrape while PostgreSQL is away still gets the request and process metrics (the
    gauges read from the database keep their last values)."""
    relay = state_of(registry_app).workers.relay
    assert relay is not None

    async def unreachable() -> None:
        raise OSError("connection refused")

    monkeypatch.setattr(relay, "report_backlog", unreachable)
    answer = await client.get("/metrics")
    assert answer.status_code == 200
    assert "laborcoop_http_requests_total" in answer.text
    assert "process_cpu_seconds_total" in answer.text


def test_a_command_that_cannot_open_the_database_says_so_in_one_line(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not a traceback: an operator (or a Job's log) reads one line, without the URL."""
    absent = stack.dsn(f"absent_{uuid4().hex[:8]}")
    monkeypatch.setenv("LABORCOOP_REGISTRY_DATABASE_URL", absent)
    with pytest.raises(SystemExit) as ended:
        cli.main(SPEC, RegistrySettings, default_port=8000, argv=["migrate"])
    assert str(ended.value).startswith("migrate: cannot open the database: database")
    assert "absent_" in str(ended.value)  # the database's complaint names it
    assert stack.pg_password not in str(ended.value)
    unreachable = "postgresql://laborcoop:secret-word@127.0.0.1:1/x"
    monkeypatch.setenv("LABORCOOP_REGISTRY_DATABASE_URL", unreachable)
    with pytest.raises(SystemExit) as ended:
        cli.main(SPEC, RegistrySettings, default_port=8000, argv=["migrate"])
    assert str(ended.value).startswith("migrate: ")
    assert "secret-word" not in str(ended.value)
