"""Settings shared by every service, read from ``LABORCOOP_*`` environment variables.

The field descriptions are the operators' documentation: ``python -m
laborcoop.common.settings_doc docs/operations.md`` writes them into the settings tables of
docs/operations.md, and a test fails when the committed tables differ, so write them for an
operator (what the value changes, what happens when it is wrong) and keep them true.
"""

import os
from pathlib import Path
from typing import Any, Literal, Self

from pydantic import Field, SecretStr, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    InitSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

Environment = Literal["development", "test", "production"]

NOT_FROM_ENVIRONMENT = frozenset({"service_name"})
"""Fields no environment variable sets: one shared ``LABORCOOP_SERVICE_NAME`` would rename all
four services (same relay lock, same database variable, same metrics label)."""

SERVICE_DATABASE_URL_DESCRIPTION = (
    "This service's own database, e.g. `{variable}=postgresql://user:pass@host:5432/{service}`. "
    "Wins over `LABORCOOP_DATABASE_URL`, so one environment can describe all four services; an "
    "explicit `database_url=` argument (as tests pass) wins over both. Empty counts as unset."
)
"""Documentation of the per-service database variable, which is not a field of its own."""

PUBLIC_DEFAULT = "public_default"
"""Key of a secret field's ``json_schema_extra`` saying its default may be printed, and why."""


def service_database_url_variable(service_name: str) -> str:
    """The variable naming one service's own database, e.g. ``LABORCOOP_REGISTRY_DATABASE_URL``."""
    return f"LABORCOOP_{service_name.upper()}_DATABASE_URL"


class _ServiceSource(PydanticBaseSettingsSource):
    """What the service class decides itself, ranked above the ``LABORCOOP_*`` variables.

    Its name is the class's (or an explicit argument's), whatever ``LABORCOOP_SERVICE_NAME``
    says, and its own database variable beats the shared one but not an explicit argument.
    """

    def __init__(self, settings_cls: type[BaseSettings], service_name: str) -> None:
        super().__init__(settings_cls)
        self._service_name = service_name

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        """Unused: ``__call__`` answers for every field at once."""
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        values: dict[str, Any] = {"service_name": self._service_name}
        own_url = os.environ.get(service_database_url_variable(self._service_name))
        if own_url:
            values["database_url"] = own_url
        return values


class ServiceSettings(BaseSettings):
    """What every service needs. A service subclasses it and sets ``service_name``.

    Sources, strongest first: arguments given to the constructor (tests), the service's own
    ``LABORCOOP_<SERVICE>_DATABASE_URL``, then the other ``LABORCOOP_*`` variables. The service
    name never comes from the environment (``NOT_FROM_ENVIRONMENT``).
    """

    model_config = SettingsConfigDict(env_prefix="LABORCOOP_", extra="ignore")

    service_name: str = Field(
        default="laborcoop",
        description="The service's name, set by its class (`registry`, `agreements`, "
        "`placements`, `gateway`) or by an explicit argument, never by the environment "
        "(`LABORCOOP_SERVICE_NAME` is ignored). It selects `LABORCOOP_<SERVICE>_DATABASE_URL`, "
        "the relay's lock and topics and the metrics' `service` label.",
    )
    environment: Environment = Field(
        default="development",
        description="`development`, `test` or `production`. In `production` the settings "
        "refuse the development database password (`laborcoop:laborcoop@` in the URL) and "
        "require `LABORCOOP_JWKS_FILE` or `LABORCOOP_JWKS_URL` (the gateway's `serve`: "
        "`LABORCOOP_TOKEN_SIGNING_KEYS` instead), and `dev-token` refuses to run.",
    )
    log_level: str = Field(
        default="INFO",
        description="Level of the root logger (`DEBUG`, `INFO`, `WARNING`, …). aiokafka and "
        "uvicorn's access log are kept at `WARNING`.",
    )

    database_url: SecretStr = Field(
        default=SecretStr("postgresql://laborcoop:laborcoop@127.0.0.1:55432/laborcoop"),
        description="Database URL of a service that has no `LABORCOOP_<SERVICE>_DATABASE_URL` "
        "(see each service's table below); held as a secret value.",
        json_schema_extra={PUBLIC_DEFAULT: "the local stack's; refused in production"},
    )
    db_pool_min: int = Field(
        default=2, ge=1, description="Minimum connections of the `serve` process's pool."
    )
    db_pool_max: int = Field(
        default=10,
        ge=1,
        description="Maximum connections of a process's pool (`serve`, `relay`, `consume` and "
        "`seed` alike).",
    )

    kafka_bootstrap: str = Field(
        default="127.0.0.1:29092",
        description="Kafka bootstrap servers, comma-separated `host:port`.",
    )
    topic_prefix: str = Field(
        default="",
        description="Prefix of every physical topic and consumer group name (ADR 0004). "
        "Empty in production.",
    )
    topic_partitions: int = Field(
        default=6,
        ge=1,
        description="Partitions of the topics the services create because they are missing "
        "(relay: its own event topics; consumers: their topics and dead-letter topic).",
    )
    topic_replication: int = Field(
        default=1,
        ge=1,
        description="Replication factor of the topics the services create. Set it to the "
        "cluster's (e.g. 3) in production.",
    )

    relay_batch_size: int = Field(
        default=1000,
        ge=1,
        le=10_000,
        description="Outbox rows read and sent per batch.",
    )
    kafka_linger_ms: int = Field(
        default=0,
        ge=0,
        le=1000,
        description="How long a producer (the outbox relay, the dead-letter producers) holds a "
        "record to batch it with the next ones. 0 sends at once: the relay hands a whole batch "
        "of rows to the producer before it sends anything, so its batches fill without waiting, "
        "and a lone event is not held back (bench/write_to_view).",
    )
    relay_poll_interval_s: float = Field(
        default=1.0,
        gt=0,
        description="The relay's polling interval when no `NOTIFY` arrives; also how often a "
        "standby replica retries the leader lock and how long the relay waits after a Kafka "
        "failure.",
    )
    consumer_max_attempts: int = Field(
        default=3,
        ge=1,
        description="Attempts (in total) of an event whose handler fails before the event is "
        "dead-lettered. Database and network failures do not count: they are retried without "
        "limit (ADR 0008).",
    )
    consumer_backoff_s: float = Field(
        default=0.2,
        ge=0,
        description="Backoff before the second attempt; doubled before each further attempt.",
    )
    run_workers: bool = Field(
        default=True,
        description="Whether `serve` also runs the background work: the outbox relay, the "
        "consumers, housekeeping and the service's own workers (the agreements scheduler).",
    )

    idempotency_ttl_hours: int = Field(
        default=24,
        ge=1,
        description="How long an `Idempotency-Key` replays its first answer. Older keys are "
        "deleted by housekeeping; a retry after that runs the command again.",
    )
    housekeeping_interval_s: float = Field(
        default=600,
        gt=0,
        description="How often housekeeping deletes expired idempotency keys.",
    )

    jwks_file: Path | None = Field(
        default=None,
        description="Path of the JSON Web Key Set that verifies bearer tokens.",
    )
    jwks_url: str | None = Field(
        default=None,
        description="URL of the key set, fetched at start-up and again when a token names an "
        "unknown key id, at most once a minute (used when no file is set).",
    )
    jwt_issuer: str = Field(default="laborcoop", description="Required `iss` of tokens.")
    jwt_audience: str = Field(default="laborcoop", description="Required `aud` of tokens.")

    otlp_endpoint: str | None = Field(
        default=None,
        description="OTLP/HTTP traces endpoint, used as given (e.g. "
        "`http://otel-collector:4318/v1/traces`). Unset: spans are not exported.",
    )
    trace_sample_ratio: float | None = Field(
        default=None,
        ge=0,
        le=1,
        description="Share of traces recorded. Unset: 1 when `LABORCOOP_OTLP_ENDPOINT` is set, "
        "else 0. At 0 nothing is recorded or instrumented; trace ids still appear in logs, "
        "problem responses and events.",
    )
    max_body_bytes: int = Field(
        default=1_048_576,
        ge=1024,
        description="Largest request body accepted; larger bodies get 413.",
    )
    http_header_timeout_s: float = Field(
        default=10,
        gt=0,
        description="`serve`: a connection whose request line and headers are not complete "
        "within this time is closed (slow-header clients cannot hold connections).",
    )
    http_body_timeout_s: float = Field(
        default=30,
        gt=0,
        description="`serve`: the longest wait for the next chunk of a request body; past it "
        "the answer is 408 problem+json and the connection is closed.",
    )
    http_max_connections: int = Field(
        default=1000,
        ge=1,
        description="`serve`: concurrent connections and requests per process (uvicorn's "
        "`limit_concurrency`); past it new requests get 503.",
    )
    shutdown_grace_s: int = Field(
        default=20,
        ge=1,
        description="`serve`: how long after SIGTERM the process may take to stop. It stops "
        "accepting connections at once and halts the relay and consumers, which finish their "
        "batch and commit; requests in flight are answered; whatever still runs when this "
        "period ends is cancelled (nothing is lost: unrelayed rows stay in the outbox and "
        "uncommitted events are delivered again). Kubernetes' `terminationGracePeriodSeconds` "
        "must exceed the `preStop` pause plus this.",
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Explicit arguments, then what the class decides, then the environment.

        Ranking the service's own source above the environment is what keeps
        ``LABORCOOP_SERVICE_NAME`` from renaming a service, and ranking the arguments above it
        is what lets a test's ``database_url=`` beat ``LABORCOOP_<SERVICE>_DATABASE_URL``.
        """
        explicit = (
            init_settings.init_kwargs if isinstance(init_settings, InitSettingsSource) else {}
        )
        name = explicit.get("service_name") or settings_cls.model_fields["service_name"].default
        return (
            init_settings,
            _ServiceSource(settings_cls, str(name)),
            env_settings,
            dotenv_settings,
            file_secret_settings,
        )

    @model_validator(mode="after")
    def _production_needs_real_secrets(self) -> Self:
        if self.environment != "production":
            return self
        if "laborcoop:laborcoop@" in self.database_url.get_secret_value():
            raise ValueError("the development database password is refused in production")
        missing = self.missing_token_keys()
        if missing is not None:
            raise ValueError(f"production needs {missing}")
        return self

    def missing_token_keys(self) -> str | None:
        """What this service lacks to verify bearer tokens (the variables to set), or None.
        The gateway, which signs them and verifies them with its own keys
        (``ServiceSpec.own_keys``), checks those when it serves instead."""
        if self.jwks_file is None and self.jwks_url is None:
            return "LABORCOOP_JWKS_URL or LABORCOOP_JWKS_FILE"
        return None

    def topic(self, name: str) -> str:
        """The physical topic of a contract topic (a prefix isolates environments and tests)."""
        return f"{self.topic_prefix}{name}"
