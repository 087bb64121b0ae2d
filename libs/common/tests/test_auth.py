"""Token verification: EdDSA and RS256 keys, claims that must be there, the principal."""

import asyncio
import json
import time

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from laborcoop.common.auth import KeySet, Role, TokenSigner
from laborcoop.common.errors import Unauthorized


def rsa_keyset() -> tuple[rsa.RSAPrivateKey, KeySet]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = json.loads(RSAAlgorithm.to_jwk(key.public_key()))
    jwks = {"keys": [{**public, "kid": "rsa-1", "alg": "RS256", "use": "sig"}]}
    return key, KeySet(jwks, issuer="laborcoop", audience="laborcoop")


def claims(**extra: object) -> dict[str, object]:
    now = int(time.time())
    return {
        "iss": "laborcoop",
        "aud": "laborcoop",
        "sub": "hr-310000",
        "iat": now,
        "exp": now + 60,
        "roles": ["province"],
        "province": "310000",
        **extra,
    }


def test_rs256_tokens_are_verified_too() -> None:
    key, keys = rsa_keyset()
    token = jwt.encode(claims(), key, algorithm="RS256", headers={"kid": "rsa-1"})
    principal = keys.verify(token)
    assert (principal.client_id, principal.province) == ("hr-310000", "310000")
    assert principal.roles == frozenset({Role.PROVINCE})


def test_eddsa_tokens_from_the_signer() -> None:
    signer = TokenSigner.generate(key_id="k1")
    keys = KeySet(signer.jwks(), issuer="laborcoop", audience="laborcoop")
    principal = keys.verify(signer.sign("mohrss", province=None, roles=["ministry", "observer"]))
    assert principal.is_ministry
    assert principal.province is None


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({"roles": ["king"]}, "unknown role"),
        ({"province": "990000"}, "unknown province"),
        ({"province": None}, "must name its province"),
        ({"exp": int(time.time()) - 5}, "expired"),
        ({"aud": "other"}, "invalid token"),
    ],
)
def test_claims_that_make_a_token_invalid(bad: dict[str, object], message: str) -> None:
    key, keys = rsa_keyset()
    values = {k: v for k, v in claims(**bad).items() if v is not None}
    token = jwt.encode(values, key, algorithm="RS256", headers={"kid": "rsa-1"})
    with pytest.raises(Unauthorized, match=message):
        keys.verify(token)


def test_a_none_algorithm_or_unknown_key_is_refused() -> None:
    _, keys = rsa_keyset()
    unsigned = jwt.encode(claims(), key="", algorithm="none", headers={"kid": "rsa-1"})
    with pytest.raises(Unauthorized):
        keys.verify(unsigned)
    other, _ = rsa_keyset()
    token = jwt.encode(claims(), other, algorithm="RS256", headers={"kid": "who"})
    with pytest.raises(Unauthorized, match="unknown key"):
        keys.verify(token)


def test_a_cached_token_still_expires() -> None:
    signer = TokenSigner.generate(key_id="k1")
    keys = KeySet(signer.jwks(), issuer="laborcoop", audience="laborcoop")
    issued = int(time.time())
    token = signer.sign("hr", province="310000", roles=["province"], ttl_s=2, now=issued)
    assert keys.verify(token).client_id == "hr"
    time.sleep(max(0.0, issued + 2.05 - time.time()))
    with pytest.raises(Unauthorized, match="expired"):
        keys.verify(token)


def test_a_token_naming_another_algorithm_than_its_key_is_refused() -> None:
    signer = TokenSigner.generate(key_id="ed-1")
    keys = KeySet(signer.jwks(), issuer="laborcoop", audience="laborcoop")
    forger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    token = jwt.encode(claims(), forger, algorithm="RS256", headers={"kid": "ed-1"})
    with pytest.raises(Unauthorized):
        keys.verify(token)


async def test_a_url_key_set_reloads_when_a_token_names_a_new_key() -> None:
    old, new = TokenSigner.generate(key_id="old"), TokenSigner.generate(key_id="new")
    served = {"keys": old.jwks()["keys"]}

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        body = json.dumps(served).encode()
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            + f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
            + body
        )
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        keys = await KeySet.from_url(
            f"http://127.0.0.1:{port}/jwks.json", issuer="laborcoop", audience="laborcoop"
        )
        token = new.sign("hr", province="310000", roles=["province"])
        served["keys"] = [*old.jwks()["keys"], *new.jwks()["keys"]]
        await keys.refresh_for(token)  # fetched a moment ago: no reload yet
        with pytest.raises(Unauthorized, match="unknown key"):
            keys.verify(token)
        keys._fetched_at -= 3600
        await keys.refresh_for(token)
        assert keys.verify(token).client_id == "hr"
    finally:
        server.close()
        await server.wait_closed()
