"""Every service verifies the bearer token itself: missing, expired or forged is a 401."""

import time

import httpx
import pytest

from laborcoop.common.auth import TokenSigner
from laborcoop.registry.app import create_app
from laborcoop.registry.settings import RegistrySettings
from laborcoop.testing import Tokens

BODY = {"name": "蕲春艾灸师", "province": "420000", "category": "skilled_trades"}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_missing_token(client: httpx.AsyncClient) -> None:
    answer = await client.post("/v1/brands", json=BODY)
    assert answer.status_code == 401
    assert answer.headers["www-authenticate"].startswith("Bearer")
    assert answer.headers["content-type"] == "application/problem+json"


async def test_a_caller_without_a_valid_token_learns_nothing_else(
    client: httpx.AsyncClient, tokens: Tokens
) -> None:
    """The token is checked before the Idempotency-Key and the body: 401, not a 422."""
    malformed = {"Idempotency-Key": "x" * 1000}
    forged = TokenSigner.generate(key_id=tokens.signer.key_id).sign(
        "hr", province="420000", roles=["province"], ttl_s=60
    )
    for headers in (malformed, {**malformed, **bearer(forged)}):
        answer = await client.post("/v1/brands", json={"name": ""}, headers=headers)
        assert answer.status_code == 401, answer.text


async def test_expired_token(client: httpx.AsyncClient, tokens: Tokens) -> None:
    token = tokens.signer.sign(
        "hr", province="420000", roles=["province"], ttl_s=60, now=time.time() - 3600
    )
    answer = await client.post("/v1/brands", json=BODY, headers=bearer(token))
    assert answer.status_code == 401
    assert "expired" in answer.json()["detail"]


async def test_token_forged_with_another_key_under_the_same_key_id(
    client: httpx.AsyncClient, tokens: Tokens
) -> None:
    forger = TokenSigner.generate(key_id=tokens.signer.key_id)
    answer = await client.post(
        "/v1/brands",
        json=BODY,
        headers=bearer(forger.sign("hr", province="420000", roles=["province"])),
    )
    assert answer.status_code == 401


@pytest.mark.parametrize(
    "claims",
    [{"audience": "someone-else"}, {"issuer": "someone-else"}],
    ids=["audience", "issuer"],
)
async def test_token_for_another_audience_or_issuer(
    client: httpx.AsyncClient, tokens: Tokens, claims: dict[str, str]
) -> None:
    other = TokenSigner(tokens.signer.private_key, tokens.signer.key_id, **claims)
    answer = await client.post(
        "/v1/brands",
        json=BODY,
        headers=bearer(other.sign("hr", province="420000", roles=["province"])),
    )
    assert answer.status_code == 401


async def test_a_province_registers_only_for_itself(
    client: httpx.AsyncClient, tokens: Tokens
) -> None:
    answer = await client.post("/v1/brands", json=BODY, headers=tokens.province("430000"))
    assert answer.status_code == 403
    assert answer.json()["type"].endswith("/forbidden")


async def test_a_service_without_a_key_set_refuses_to_start(
    registry_settings: RegistrySettings,
) -> None:
    registry_app = create_app(registry_settings)  # no keys given, no JWKS file or URL set
    with pytest.raises(RuntimeError, match="LABORCOOP_JWKS_FILE"):
        async with registry_app.router.lifespan_context(registry_app):
            pass
