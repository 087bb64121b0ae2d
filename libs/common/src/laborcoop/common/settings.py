"""Settings shared by every service, read from ``LABORCOOP_*`` environment variables."""

import os
from pathlib import Path
from typing import Any, Literal, Self

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

Environment = Literal["development", "test", "production"]


class ServiceSettings(BaseSettings):
    """What every service needs. A service subclasses it and sets ``service_name``.

    The database URL is read from ``LABORCOOP_<SERVICE>_DATABASE_URL`` first, then
    ``LABORCOOP_DATABASE_URL``, so one environment can describe all four services.
    """

    model_config = SettingsConfigDict(env_prefix="LABORCOOP_", extra="ignore")

    service_name: str = "laborcoop"
    environment: Environment = "development"
    log_level: str = "INFO"

    database_url: SecretStr = SecretStr(
        "postgresql://laborcoop:laborcoop@127.0.0.1:55432/laborcoop"
    )
    db_pool_min: int = Field(default=2, ge=1)
    db_pool_max: int = Field(default=10, ge=1)

    kafka_bootstrap: str = "127.0.0.1:59092"
    topic_prefix: str = ""
    topic_partitions: int = Field(default=6, ge=1)
    topic_replication: int = Field(default=1, ge=1)

    relay_batch_size: int = Field(default=1000, ge=1, le=10_000)
    relay_poll_interval_s: float = Field(default=1.0, gt=0)
    consumer_max_attempts: int = Field(default=3, ge=1)
    consumer_backoff_s: float = Field(default=0.2, ge=0)
    run_workers: bool = Field(
        default=True, description="run the outbox relay and consumers inside `serve`"
    )

    idempotency_ttl_hours: int = Field(default=24, ge=1, description="how long keys replay")
    housekeeping_interval_s: float = Field(default=600, gt=0)

    jwks_file: Path | None = None
    jwks_url: str | None = None
    jwt_issuer: str = "laborcoop"
    jwt_audience: str = "laborcoop"

    otlp_endpoint: str | None = None
    trace_sample_ratio: float | None = Field(
        default=None,
        ge=0,
        le=1,
        description="share of traces recorded; default 1 with an OTLP endpoint, else 0",
    )
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    http_header_timeout_s: float = Field(
        default=10, gt=0, description="a connection whose request head is not complete is closed"
    )
    http_body_timeout_s: float = Field(
        default=30, gt=0, description="longest wait for the next chunk of a request body (408)"
    )
    http_max_connections: int = Field(
        default=1000, ge=1, description="connections per process; a request beyond it gets 503"
    )

    @model_validator(mode="before")
    @classmethod
    def _service_database_url(cls, data: Any) -> Any:
        """``LABORCOOP_<SERVICE>_DATABASE_URL`` wins over the shared ``LABORCOOP_DATABASE_URL``."""
        if not isinstance(data, dict):
            return data
        name = data.get("service_name") or cls.model_fields["service_name"].default
        own_url = os.environ.get(f"LABORCOOP_{str(name).upper()}_DATABASE_URL")
        if own_url:
            data["database_url"] = own_url
        return data

    @model_validator(mode="after")
    def _production_needs_real_secrets(self) -> Self:
        if self.environment != "production":
            return self
        if "laborcoop:laborcoop@" in self.database_url.get_secret_value():
            raise ValueError("the development database password is refused in production")
        if self.jwks_file is None and self.jwks_url is None:
            raise ValueError("production needs LABORCOOP_JWKS_URL or LABORCOOP_JWKS_FILE")
        return self

    def topic(self, name: str) -> str:
        """The physical topic of a contract topic (a prefix isolates environments and tests)."""
        return f"{self.topic_prefix}{name}"
