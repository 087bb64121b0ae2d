"""The operations endpoints every service serves: health, readiness, metrics."""

import httpx
import pytest
from fastapi import FastAPI

from laborcoop.common.deps import state_of
from laborcoop.testing import Tokens


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
