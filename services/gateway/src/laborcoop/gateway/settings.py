"""The gateway's settings: the shared ones, where it forwards commands, and how it issues tokens
(signing keys, token lifetime, secret rotation, the limit on failed client authentication)."""

from typing import Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from laborcoop.common.settings import ServiceSettings
from laborcoop.gateway.identity.keys import DEV_KEY_FILE, SigningKeys
from laborcoop.gateway.subscriptions.settings import WebhookSettings


class GatewaySettings(ServiceSettings, WebhookSettings):
    # A refused value is never echoed in the error: the signing keys are secrets.
    model_config = SettingsConfigDict(hide_input_in_errors=True)

    service_name: str = "gateway"
    registry_url: str = Field(
        default="http://127.0.0.1:8101",
        description="Base URL the gateway forwards `/v1/brands…` requests to (all but the "
        "brand list, which it answers from its projection).",
    )
    agreements_url: str = Field(
        default="http://127.0.0.1:8102",
        description="Base URL the gateway forwards `/v1/agreements…` requests to.",
    )
    placements_url: str = Field(
        default="http://127.0.0.1:8103",
        description="Base URL the gateway forwards `/v1/workers…`, `/v1/demands…` and "
        "`/v1/placements…` requests to.",
    )
    upstream_timeout_s: float = Field(
        default=10.0,
        gt=0,
        description="Timeout of a forwarded request. A request that could not be sent "
        "(connection refused, connect timeout) is answered 503; one sent but not answered in "
        "time is 504 (outcome unknown: a retry with the same Idempotency-Key is safe); both "
        "with `Retry-After`.",
    )

    token_signing_keys: SecretStr | None = Field(
        default=None,
        description="The Ed25519 keys that sign access tokens, as `<key id>:<base64 of the "
        "32-byte private key>` separated by commas (`laborcoop-gateway signing-key --kid K` "
        "makes one). Every key listed is published at `/.well-known/jwks.json` and verifies "
        "the gateway's own routes (it then reads no `LABORCOOP_JWKS_FILE` or `_URL`); only "
        "`LABORCOOP_TOKEN_SIGNING_KEY_ID` signs. In production `serve` refuses to start without "
        "it (`migrate` and `clients` do not read it). Unset in development: "
        "the key `dev-keys` wrote beside `LABORCOOP_JWKS_FILE` (`signing-key.pem`, key id "
        "`dev-1`); unset otherwise: `POST /v1/oauth/token` answers 503.",
    )
    token_signing_key_id: str | None = Field(
        default=None,
        description="Id of the key in `LABORCOOP_TOKEN_SIGNING_KEYS` that signs new tokens; "
        "the others are only published. May be left unset when one key is listed; with "
        "several, a missing or unlisted id stops the start.",
    )
    token_ttl_s: int = Field(
        default=900,
        ge=60,
        le=86_400,
        description="Lifetime of an access token (`expires_in`). A signing key must stay "
        "published at least this long after it stopped signing.",
    )
    jwks_max_age_s: int = Field(
        default=300,
        ge=0,
        le=86_400,
        description="`Cache-Control: public, max-age` of `/.well-known/jwks.json`: how long "
        "a cache may keep the key set, so publish a new key at least this long (plus a minute, "
        "the services' refresh interval) before it signs.",
    )
    client_secret_grace_hours: float = Field(
        default=24.0,
        ge=0,
        le=720,
        description="Default of `clients rotate-secret --grace-hours`: how long the previous "
        "secret of a client still authenticates after a rotation (0: not at all).",
    )
    token_failure_limit: int = Field(
        default=10,
        ge=1,
        description="Failed client authentications at `POST /v1/oauth/token` allowed per "
        "client id, and per source address, within `LABORCOOP_TOKEN_FAILURE_WINDOW_S`; past "
        "it the endpoint answers 429 with `Retry-After`, even to the right secret (ADR 0012). "
        "Counted in each replica's memory: N replicas allow up to N times as many.",
    )
    token_failure_window_s: float = Field(
        default=300.0,
        gt=0,
        description="The sliding window over which failed client authentications are counted.",
    )
    client_rate_per_s: float = Field(
        default=20.0,
        gt=0,
        description="Requests per second each client may send to the gateway, every route but "
        "`/healthz`, `/readyz` and `/metrics`: a client is the client id of its valid token, or "
        "the source address without one. A token bucket of `LABORCOOP_CLIENT_RATE_BURST` "
        "refills at this rate; past it the gateway answers 429 with `Retry-After`. Counted in "
        "each replica's memory: N replicas allow up to N times the rate.",
    )
    client_rate_burst: int = Field(
        default=100,
        ge=1,
        description="How many requests a client may send at once before "
        "`LABORCOOP_CLIENT_RATE_PER_S` holds it back (the size of its token bucket).",
    )
    disabled_clients_refresh_s: float = Field(
        default=2.0,
        gt=0,
        description="How often each gateway replica rereads the disabled clients, whose tokens "
        "it refuses (401 `invalid_token`) from then on, before they expire.",
    )
    timezone: str = Field(
        default="Asia/Shanghai",
        description="IANA time zone whose calendar days and months the views report (a "
        "placement's `proposed_on`, the `period` filter, months of the flows, target periods): "
        "set it as the placements service's `LABORCOOP_TIMEZONE`. An unknown name stops the "
        "start.",
    )
    view_lag_interval_s: float = Field(
        default=10.0,
        gt=0,
        description="How often each gateway process running workers measures how far the views' "
        "consumer groups are behind their topics (Kafka's committed against end offsets), "
        "which every view answers in `freshness.lag`.",
    )
    stream_heartbeat_s: float = Field(
        default=15.0,
        gt=0,
        description="`GET /v1/events/stream`: a `: heartbeat` comment is sent after this long "
        "without anything sent, so proxies and load balancers keep an idle stream open (set it "
        "below their idle timeout); also how soon a stream notices a client that vanished without "
        "closing its connection.",
    )
    stream_max_per_client: int = Field(
        default=4,
        ge=1,
        description="`GET /v1/events/stream`: streams one client may hold open at once; the "
        "next one is answered 429 with `Retry-After`. Counted in each replica's memory: N "
        "replicas allow up to N times as many.",
    )
    stream_max_lifetime_s: float = Field(
        default=900.0,
        gt=0,
        description="`GET /v1/events/stream`: a stream ends cleanly after this long, and its "
        "client reconnects with `Last-Event-ID` (to any replica, with a token still valid), "
        "so streams spread over replicas again and none outlives its token for long.",
    )
    stream_retry_s: float = Field(
        default=3.0,
        gt=0,
        description="`GET /v1/events/stream`: the reconnection delay the stream advises its "
        "client (`retry:` at its start), and the `Retry-After` of a 429 past "
        "`LABORCOOP_STREAM_MAX_PER_CLIENT` or a 503 while the process shuts down.",
    )

    event_log_retention_days: int = Field(
        default=30,
        ge=1,
        le=3650,
        description="How long the gateway keeps each event in its event log (counted from "
        "when it was logged), from which webhooks, replays and the event stream are served: "
        "a replay or a `since=` reaches back at most this far. Pruned hourly by the workers.",
    )

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"no IANA time zone named {value!r}") from exc
        return value

    @model_validator(mode="after")
    def _signing_keys_are_usable(self) -> Self:
        """The keys parse and the current one is listed: checked here, so that a wrong value
        stops every command at once, naming what is wrong (never the value)."""
        if self.token_signing_keys is not None:
            self.signing_keys()
        return self

    def missing_token_keys(self) -> str | None:
        """None: the gateway verifies tokens with the keys that sign them, which only `serve`
        needs (``laborcoop.gateway.app.own_keys`` refuses to serve in production without them;
        `migrate` and `clients` do not read them)."""
        return None

    def signing_keys(self) -> SigningKeys | None:
        """The keys that sign and publish tokens: the settings', else in development the key
        of `dev-keys` beside the JWKS file (when it exists), else none."""
        issuer, audience = self.jwt_issuer, self.jwt_audience
        if self.token_signing_keys is not None:
            return SigningKeys.parse(
                self.token_signing_keys.get_secret_value(),
                self.token_signing_key_id,
                issuer=issuer,
                audience=audience,
            )
        if self.environment == "development" and self.jwks_file is not None:
            pem = self.jwks_file.with_name(DEV_KEY_FILE)
            if pem.is_file():
                return SigningKeys.development(pem.read_bytes(), issuer=issuer, audience=audience)
        return None
