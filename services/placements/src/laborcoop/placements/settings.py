"""The placements service's settings: the shared ones, its personal-data keys, its calendar and
the limits of matching and bulk import."""

from pydantic import Field, SecretStr

from laborcoop.common.settings import ServiceSettings


class PlacementsSettings(ServiceSettings):
    service_name: str = "placements"
    personal_data_keys: SecretStr | None = Field(
        default=None,
        description="The AES-256-GCM keys that seal personal data at rest, as "
        "`<key id>:<32 bytes in base64>` separated by commas. Every key that sealed a stored "
        "value must be listed; a new key is added here, made current with "
        "`LABORCOOP_PERSONAL_DATA_KEY_ID`, and the old one removed only after `rotate-keys` "
        "reports nothing left under it. Without it `serve` refuses to start; with a key that "
        "does not open what the database holds, too. `make run` generates one per data "
        "directory.",
    )
    personal_data_key_id: str | None = Field(
        default=None,
        description="Id of the key in `LABORCOOP_PERSONAL_DATA_KEYS` that seals new values "
        "(default: the last one listed).",
    )
    blind_index_key: SecretStr | None = Field(
        default=None,
        description="HMAC-SHA256 key (base64, at least 32 bytes) of the blind index of ID "
        "numbers, which finds a second registration of one person without decrypting anything. "
        "It cannot rotate without re-registering every worker: keep it with the database's "
        "backups. Required, like the keys.",
    )
    timezone: str = Field(
        default="Asia/Shanghai",
        description="IANA time zone whose calendar days dates are (onboarding, milestones, a "
        "demand's start date and expiry).",
    )
    matching_candidates: int = Field(
        default=200,
        ge=10,
        le=5000,
        description="How many candidates the indexed matching query hands to the ranking "
        "(its coarse order: occupation, preferred brand, wage fit); the answer is the best "
        "`limit` of them.",
    )
    import_max_lines: int = Field(
        default=100_000, ge=1, description="Most lines one `POST /v1/workers:import` accepts."
    )
    import_batch_size: int = Field(
        default=2_000,
        ge=1,
        le=50_000,
        description="Lines validated, sealed and inserted per transaction of a bulk import.",
    )
    scheduler_interval_s: float = Field(
        default=60.0,
        gt=0,
        description="How often open demands past their end are marked expired (up to 100 a pass).",
    )
