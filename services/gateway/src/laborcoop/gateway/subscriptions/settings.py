"""The settings of webhook delivery, a mixin of the gateway's settings (``LABORCOOP_WEBHOOK_*``)."""

from pydantic import BaseModel, Field, SecretStr


class WebhookSettings(BaseModel):
    webhook_secret_key: SecretStr | None = Field(
        default=None,
        description="Base64 of the 32-byte AES key that seals the webhook signing secrets in "
        "the database (AES-GCM; `laborcoop-gateway webhook-key` makes one). Required in "
        "production (`serve` stops without it); elsewhere a fixed development key is used, "
        "so secrets are sealed but not protected. To change it, move the old key to "
        "`LABORCOOP_WEBHOOK_PREVIOUS_SECRET_KEYS` and run `laborcoop-gateway "
        "reseal-webhook-secrets` (docs/operations.md).",
    )
    webhook_previous_secret_keys: list[SecretStr] = Field(
        default=[],
        description="Keys that `LABORCOOP_WEBHOOK_SECRET_KEY` replaced (a JSON list of base64 "
        "keys): they still open the secrets they sealed, and never seal. Keep a key here until "
        "`laborcoop-gateway reseal-webhook-secrets` has sealed every secret under the current "
        "key, then remove it.",
    )
    webhook_http_hosts: list[str] = Field(
        default=[],
        description="Hosts (as written in a target URL, e.g. `127.0.0.1`, `receiver.local`) "
        "that a subscription may target over plain `http` and whose addresses are not checked "
        "against private, loopback and link-local ranges: for local development and tests "
        "only. Empty in production: every target must be `https` to a public address. A JSON "
        'list: `["127.0.0.1"]`.',
    )
    webhook_timeout_s: float = Field(
        default=10.0,
        gt=0,
        le=60,
        description="Timeout of one delivery attempt (connect, send, answer). An attempt "
        "that takes longer failed and is retried.",
    )
    webhook_retry_schedule_s: list[float] = Field(
        default=[5, 300, 1800, 7200, 18000, 36000, 36000],
        min_length=1,
        description="Seconds to wait before each retry of a failed delivery (the n-th retry "
        "waits the n-th figure, spread by `LABORCOOP_WEBHOOK_RETRY_JITTER`); once every retry "
        "failed the delivery is given up and the next event of its subject is attempted. The "
        "default retries for about 27 hours. A JSON list.",
    )
    webhook_retry_jitter: float = Field(
        default=0.2,
        ge=0,
        lt=1,
        description="Each retry waits its scheduled delay times a random factor between 1 - "
        "jitter and 1 + jitter, so receivers recovering from an outage are not hit by every "
        "retry at once.",
    )
    webhook_retry_after_max_s: float = Field(
        default=3600.0,
        ge=0,
        description="The longest `Retry-After` (seconds or an HTTP date) of a receiver's 429 or "
        "503 that the gateway honours; a retry waits the longer of its scheduled delay and the "
        "receiver's `Retry-After` up to this.",
    )
    webhook_disable_after_s: float = Field(
        default=432_000.0,
        gt=0,
        description="A subscription whose every attempt failed for this long (default 5 days) is "
        "disabled, and the event `cn.laborcoop.gateway.subscription.disabled.v1` says so; its "
        "owner resumes it after fixing its receiver. A 410 Gone disables it at once.",
    )
    webhook_secret_overlap_s: float = Field(
        default=86_400.0,
        ge=0,
        description="After a secret rotation, how long the previous secret still signs beside "
        "the new one (both signatures in `webhook-signature`), so a receiver can switch.",
    )
    webhook_max_in_flight: int = Field(
        default=64,
        ge=1,
        description="Delivery attempts each gateway process makes at once (over every "
        "subscription; events of one subject of one subscription are never attempted at once).",
    )
    webhook_max_in_flight_per_subscription: int = Field(
        default=8,
        ge=1,
        description="Delivery attempts to one subscription at once, over every gateway process "
        "(leased deliveries counted from the database): a slow or failing receiver holds at "
        "most this many of the attempt slots, so the other subscribers are served meanwhile.",
    )
    webhook_claim_batch: int = Field(
        default=100,
        ge=1,
        le=1000,
        description="Due deliveries a sender claims per query.",
    )
    webhook_poll_interval_s: float = Field(
        default=1.0,
        gt=0,
        description="Longest wait of the fan-out and the sender between passes: they wake at "
        "once when the event log grows in this process or a retry falls due, and every this "
        "often for work another replica made.",
    )
    webhook_response_limit_bytes: int = Field(
        default=4096,
        ge=0,
        description="How much of a receiver's answer is read (and kept, as text, in the "
        "delivery log's `error` of a failed attempt); the rest is discarded.",
    )
