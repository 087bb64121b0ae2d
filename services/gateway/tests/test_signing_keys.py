"""The signing keys: several at once, one current; their public halves at
``/.well-known/jwks.json``, from which every other service verifies the gateway's tokens; a key
rotation that no token notices; the settings that refuse a wrong key set; the development key."""

import argparse
import base64
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from pydantic import SecretStr, ValidationError

from laborcoop.common.app import load_keys
from laborcoop.common.auth import KeySet
from laborcoop.common.errors import Unauthorized
from laborcoop.common.settings import ServiceSettings
from laborcoop.gateway import cli
from laborcoop.gateway.app import create_app, own_keys, require_webhook_key
from laborcoop.gateway.identity.keys import new_key_entry
from laborcoop.gateway.settings import GatewaySettings
from laborcoop.testing import running
from services.gateway.tests.conftest import HUNAN, Gateway, GatewayWith, signing_settings
from tests.conftest import served

JWKS = "/.well-known/jwks.json"


@asynccontextmanager
async def on_a_socket(gateway: Gateway) -> AsyncIterator[str]:
    """The running gateway on a real socket of 127.0.0.1: its key set's URL."""
    async with served(gateway.app) as url:
        yield f"{url}{JWKS}"


async def another_service_keys(jwks_url: str) -> KeySet:
    """The key set another service loads with ``LABORCOOP_JWKS_URL`` (as its start-up does)."""
    keys = await load_keys(ServiceSettings(environment="test", jwks_url=jwks_url))
    assert keys is not None
    return keys


async def token_of(gateway: Gateway, client: tuple[str, str]) -> str:
    answer = await gateway.token(auth=client)
    assert answer.status_code == 200, answer.text
    token: str = answer.json()["access_token"]
    return token


async def test_the_key_set_is_public_and_cacheable(gateway_with: GatewayWith) -> None:
    async with gateway_with(jwks_max_age_s=120, **signing_settings("k1", "k2", current="k1")) as gw:
        answer = await gw.client.get(JWKS)
    assert answer.status_code == 200
    assert answer.headers["cache-control"] == "public, max-age=120"
    keys = answer.json()["keys"]
    assert [k["kid"] for k in keys] == ["k1", "k2"]
    for key in keys:
        assert set(key) == {"kty", "crv", "x", "kid", "alg", "use"}  # no private part "d"
        assert (key["kty"], key["crv"], key["alg"], key["use"]) == (
            "OKP",
            "Ed25519",
            "EdDSA",
            "sig",
        )


async def test_another_service_verifies_the_gateways_tokens_from_its_key_set(
    gateway: Gateway,
) -> None:
    client = await gateway.new_client("province", province=HUNAN)
    token = await token_of(gateway, client)
    async with on_a_socket(gateway) as jwks_url:
        keys = await another_service_keys(jwks_url)
    principal = keys.verify(token)
    assert (principal.client_id, principal.province) == (client[0], HUNAN)


async def test_a_key_rotation_keeps_every_token_valid(gateway_with: GatewayWith) -> None:
    """1. k1 signs; 2. k2 is published beside it, k1 still signs; 3. k2 signs, k1 stays
    published: a token of k1 still verifies, by the key set of the gateway before and after."""
    async with gateway_with(**signing_settings("k1")) as first:
        client = await first.new_client()
        database_url = first.settings.database_url.get_secret_value()
        k1 = first.settings.token_signing_keys
        assert k1 is not None
        old_token = await token_of(first, client)
        async with on_a_socket(first) as url:
            before = await another_service_keys(url)
    k2 = new_key_entry("k2")
    published = f"{k1.get_secret_value()},{k2}"
    stages = [("k1", ["k1", "k2"]), ("k2", ["k1", "k2"])]
    tokens = [old_token]
    for current, listed in stages:
        async with gateway_with(
            database_url=database_url, token_signing_keys=published, token_signing_key_id=current
        ) as stage:
            token = await token_of(stage, client)
            assert jwt.get_unverified_header(token)["kid"] == current
            tokens.append(token)
            async with on_a_socket(stage) as url:
                async with httpx.AsyncClient() as http:
                    on_line = (await http.get(url)).json()["keys"]
                assert [key["kid"] for key in on_line] == listed
                after = await another_service_keys(url)
            for seen in tokens:
                assert after.verify(seen).client_id == client[0]
    assert before.verify(old_token).client_id == client[0]
    with pytest.raises(Unauthorized, match="unknown key"):
        before.verify(tokens[-1])  # k2 was not published yet when `before` loaded the set


async def test_the_gateway_verifies_its_tokens_with_its_own_keys(
    gateway_with: GatewayWith,
) -> None:
    """Without a key set given as a seam, the gateway verifies bearer tokens with the public
    halves of its signing keys: a token of its endpoint opens its routes."""
    async with gateway_with() as gateway:
        client = await gateway.new_client()
        token = await token_of(gateway, client)
        own = create_app(gateway.settings)  # no `keys=`: the settings' signing keys
        async with running(own) as own_client:
            answer = await own_client.get(
                "/v1/brands", headers={"Authorization": f"Bearer {token}"}
            )
            assert answer.status_code == 200, answer.text
            foreign = jwt.encode({"sub": "x"}, "s" * 32, algorithm="HS256")
            refused = await own_client.get(
                "/v1/brands", headers={"Authorization": f"Bearer {foreign}"}
            )
            assert refused.status_code == 401


# -- settings --------------------------------------------------------------------------------


def test_production_serves_only_with_signing_keys() -> None:
    """`migrate` and `clients` need no key in production; `serve` (its key set) does, and then
    no JWKS file or URL."""
    production: dict[str, Any] = {
        "environment": "production",
        "database_url": "postgresql://u:p@db/gateway",
    }
    settings = GatewaySettings(**production)
    with pytest.raises(RuntimeError, match="production needs LABORCOOP_TOKEN_SIGNING_KEYS"):
        own_keys(settings)
    settings = GatewaySettings(**production, **signing_settings("2026-01"))
    keys = settings.signing_keys()
    assert keys is not None
    assert keys.current == "2026-01"
    assert own_keys(settings) is not None


@pytest.mark.parametrize(
    ("keys", "current", "says"),
    [
        ("k1", None, "write it as <key id>:<base64"),
        ("k1:not base64!", None, "not base64"),
        ("k1:" + base64.b64encode(b"short").decode(), None, "is 32 bytes"),
        ("bad id:" + base64.b64encode(bytes(32)).decode(), None, "a key id is"),
        (f"{new_key_entry('k1')},{new_key_entry('k1')}", "k1", "lists key id k1 twice"),
        (
            f"{new_key_entry('k1')},{new_key_entry('k2')}",
            None,
            "set LABORCOOP_TOKEN_SIGNING_KEY_ID",
        ),
        (new_key_entry("k1"), "k2", "is k2, which LABORCOOP_TOKEN_SIGNING_KEYS does not list"),
    ],
)
def test_a_wrong_key_set_is_refused_without_showing_it(
    keys: str, current: str | None, says: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        GatewaySettings(token_signing_keys=SecretStr(keys), token_signing_key_id=current)
    message = str(refused.value)
    assert says in message
    for entry in keys.split(","):
        material = entry.partition(":")[2]
        assert not material or material not in message


def test_one_key_signs_without_naming_it() -> None:
    keys = GatewaySettings(token_signing_keys=SecretStr(new_key_entry("only"))).signing_keys()
    assert keys is not None
    assert keys.current == "only"


async def test_development_signs_with_the_dev_key_and_make_token_still_works(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`make run` sets only LABORCOOP_JWKS_FILE: the gateway signs with `dev-keys`' key (kid
    dev-1), which the file publishes, so the services verify the endpoint's tokens and
    `make token`'s alike."""
    jwks_file = tmp_path / "keys" / "jwks.json"
    settings = GatewaySettings(environment="development", jwks_file=jwks_file)
    assert settings.signing_keys() is None  # no key yet
    cli.write_dev_keys(jwks_file)
    keys = settings.signing_keys()
    assert keys is not None
    assert keys.current == "dev-1"
    from_file = KeySet.from_file(jwks_file, issuer="laborcoop", audience="laborcoop")
    endpoint_token = keys.signer.sign("client", province=HUNAN, roles=["province"])
    assert from_file.verify(endpoint_token).province == HUNAN
    parser = argparse.ArgumentParser()
    cli.token_arguments(parser)
    await cli.dev_token(settings, parser.parse_args(["--province", HUNAN]))
    dev_token = capsys.readouterr().out.strip()
    assert keys.key_set().verify(dev_token).client_id == "dev-430000-province"
    assert GatewaySettings(environment="test", jwks_file=jwks_file).signing_keys() is None


async def test_signing_key_prints_an_entry_the_settings_accept(
    capsys: pytest.CaptureFixture[str],
) -> None:
    parser = argparse.ArgumentParser()
    cli.signing_key_arguments(parser)
    await cli.SIGNING_KEY.run(GatewaySettings(), parser.parse_args(["--kid", "2026-07"]))
    entry = capsys.readouterr().out.strip()
    assert entry.startswith("2026-07:")
    keys = GatewaySettings(token_signing_keys=SecretStr(entry)).signing_keys()
    assert keys is not None
    assert [k["kid"] for k in keys.jwks()["keys"]] == ["2026-07"]
    with pytest.raises(SystemExit, match="a key id is"):
        await cli.SIGNING_KEY.run(GatewaySettings(), parser.parse_args(["--kid", "no spaces"]))


def test_production_serves_only_with_a_webhook_secret_key() -> None:
    """Webhook signing secrets are sealed with the operators' key: no fixed development key in
    production."""
    production: dict[str, Any] = {
        "environment": "production",
        "database_url": "postgresql://u:p@db/gateway",
        **signing_settings("2026-01"),
    }
    with pytest.raises(RuntimeError, match="production needs LABORCOOP_WEBHOOK_SECRET_KEY"):
        require_webhook_key(GatewaySettings(**production))
    key = base64.b64encode(bytes(range(32))).decode()
    require_webhook_key(GatewaySettings(**production, webhook_secret_key=SecretStr(key)))
