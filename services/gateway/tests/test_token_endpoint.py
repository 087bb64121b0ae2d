"""``POST /v1/oauth/token``: the client-credentials grant of RFC 6749 §4.4, its two client
authentication methods, and every error of §5.2."""

import base64
import time
from typing import Any
from urllib.parse import quote
from uuid import uuid4

import httpx
import jwt
import pytest

from laborcoop.common.auth import KeySet
from laborcoop.common.principal import Role
from laborcoop.common.unit_of_work import unit_of_work
from laborcoop.gateway.identity.domain import Client
from laborcoop.gateway.identity.repository import CLIENT_STORE
from services.gateway.tests.conftest import (
    CLIENT_CREDENTIALS,
    HUNAN,
    TOKEN,
    Gateway,
    basic,
)


def gateway_keys(gateway: Gateway) -> KeySet:
    jwks = gateway.identity.jwks()
    return KeySet(jwks, issuer=gateway.settings.jwt_issuer, audience=gateway.settings.jwt_audience)


def assert_oauth_error(answer: httpx.Response, status: int, error: str) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/json"
    assert answer.headers["cache-control"] == "no-store"
    body: dict[str, Any] = answer.json()
    assert set(body) == {"error", "error_description"}
    assert body["error"] == error, body
    return body


def assert_invalid_client(answer: httpx.Response) -> dict[str, Any]:
    body = assert_oauth_error(answer, 401, "invalid_client")
    assert answer.headers["www-authenticate"] == 'Basic realm="laborcoop"'
    return body


# -- success -------------------------------------------------------------------------------


async def test_a_client_gets_a_token_by_client_secret_post(gateway: Gateway) -> None:
    client_id, secret = await gateway.new_client("province", province=HUNAN)
    before = int(time.time())
    answer = await gateway.token(
        {**CLIENT_CREDENTIALS, "client_id": client_id, "client_secret": secret}
    )
    assert answer.status_code == 200, answer.text
    assert answer.headers["cache-control"] == "no-store"
    body = answer.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == gateway.settings.token_ttl_s == 900
    assert body["scope"] == "province"

    token = body["access_token"]
    assert jwt.get_unverified_header(token)["kid"] == "k1"
    claims = jwt.decode(token, options={"verify_signature": False})
    assert set(claims) == {
        "iss",
        "aud",
        "sub",
        "client_id",
        "jti",
        "iat",
        "exp",
        "province",
        "roles",
    }
    assert (claims["iss"], claims["aud"]) == ("laborcoop", "laborcoop")
    assert claims["sub"] == claims["client_id"] == client_id
    assert (claims["province"], claims["roles"]) == (HUNAN, ["province"])
    assert abs(claims["iat"] - before) <= 5
    assert claims["exp"] - claims["iat"] == 900
    principal = gateway_keys(gateway).verify(token)
    assert (principal.client_id, principal.province) == (client_id, HUNAN)
    assert principal.roles == {Role.PROVINCE}


async def test_a_client_gets_a_token_by_client_secret_basic(gateway: Gateway) -> None:
    client_id, secret = await gateway.new_client("ministry", "observer", province=None)
    answer = await gateway.token(auth=(client_id, secret))
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["scope"] == "ministry observer"
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert "province" not in claims
    assert gateway_keys(gateway).verify(body["access_token"]).is_ministry


async def test_each_token_has_its_own_id(gateway: Gateway) -> None:
    client_id, secret = await gateway.new_client()
    ids = set()
    for _ in range(2):
        answer = await gateway.token(auth=(client_id, secret))
        ids.add(
            jwt.decode(answer.json()["access_token"], options={"verify_signature": False})["jti"]
        )
    assert len(ids) == 2


async def test_basic_credentials_are_form_decoded(gateway: Gateway) -> None:
    """RFC 6749 §2.3.1: id and secret are form-urlencoded before Basic joins them, so a `:`,
    a `+`, a `%` or a space inside either survives."""
    secret = "p@ss:w+rd %41 wörd/="
    async with unit_of_work(gateway.pool, gateway.settings) as uow:
        client = Client.register(
            name="special",
            province=HUNAN,
            roles=(Role.PROVINCE,),
            secret_hash=gateway.identity.hasher.hash(secret),
            now=gateway.clock(),
        )
        CLIENT_STORE.add(uow, client)
    client_id = str(client.id)
    answer = await gateway.token(auth=(client_id, secret))
    assert answer.status_code == 200, answer.text

    # Escaping more than needed is still the same credentials.
    every_byte = "".join(f"%{b:02X}" for b in secret.encode())
    pair = f"{quote(client_id, safe='')}:{every_byte}"
    header = "Basic " + base64.b64encode(pair.encode()).decode()
    answer = await gateway.token(Authorization=header)
    assert answer.status_code == 200, answer.text

    # Not decoded, the `+` and the `%41` mean other characters: the secret is wrong.
    raw = "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    assert_invalid_client(await gateway.token(Authorization=raw))


async def test_a_scope_narrows_the_roles(gateway: Gateway) -> None:
    client_id, secret = await gateway.new_client("province", "observer")
    answer = await gateway.token(
        {**CLIENT_CREDENTIALS, "scope": "observer"}, auth=(client_id, secret)
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["scope"] == "observer"
    principal = gateway_keys(gateway).verify(answer.json()["access_token"])
    assert principal.roles == {Role.OBSERVER}


async def test_an_empty_parameter_counts_as_absent(gateway: Gateway) -> None:
    """RFC 6749 §3.2: a parameter sent without a value is treated as omitted."""
    client_id, secret = await gateway.new_client("province", "observer")
    answer = await gateway.token({**CLIENT_CREDENTIALS, "scope": ""}, auth=(client_id, secret))
    assert answer.status_code == 200, answer.text
    assert answer.json()["scope"] == "province observer"


async def test_unknown_parameters_are_ignored(gateway: Gateway) -> None:
    client_id, secret = await gateway.new_client()
    form = {**CLIENT_CREDENTIALS, "audience": "x", "resource": "y"}
    answer = await gateway.token(form, auth=(client_id, secret))
    assert answer.status_code == 200, answer.text


async def test_a_token_of_the_endpoint_opens_the_gateway_routes(gateway: Gateway) -> None:
    """The gateway verifies tokens with the keys it signs them with (here the tests' key set is
    given to the app, so check with its own published keys)."""
    client_id, secret = await gateway.new_client()
    token = (await gateway.token(auth=(client_id, secret))).json()["access_token"]
    assert gateway_keys(gateway).verify(token).acts_for(HUNAN)


# -- invalid_request -----------------------------------------------------------------------


async def test_both_authentication_methods_at_once_is_invalid_request(gateway: Gateway) -> None:
    client_id, secret = await gateway.new_client()
    form = {**CLIENT_CREDENTIALS, "client_id": client_id, "client_secret": secret}
    body = assert_oauth_error(
        await gateway.token(form, auth=(client_id, secret)), 400, "invalid_request"
    )
    assert "not both" in body["error_description"]


async def test_a_body_client_id_naming_another_client_than_basic_is_invalid_request(
    gateway: Gateway,
) -> None:
    client_id, secret = await gateway.new_client()
    form = {**CLIENT_CREDENTIALS, "client_id": str(uuid4())}
    assert_oauth_error(await gateway.token(form, auth=(client_id, secret)), 400, "invalid_request")
    same = {**CLIENT_CREDENTIALS, "client_id": client_id}
    assert (await gateway.token(same, auth=(client_id, secret))).status_code == 200


async def test_a_missing_grant_type_is_invalid_request(gateway: Gateway) -> None:
    client_id, secret = await gateway.new_client()
    body = assert_oauth_error(
        await gateway.token({"scope": "province"}, auth=(client_id, secret)), 400, "invalid_request"
    )
    assert "grant_type" in body["error_description"]


FORM = {"Content-Type": "application/x-www-form-urlencoded"}


@pytest.mark.parametrize(
    ("content", "headers", "url"),
    [
        (b'{"grant_type": "client_credentials"}', {"Content-Type": "application/json"}, TOKEN),
        (b"grant_type=client_credentials", {}, TOKEN),
        (
            b"grant_type=client_credentials",
            {"Content-Type": "application/x-www-form-urlencoded; charset=iso-8859-1"},
            TOKEN,
        ),
        (b"grant_type=client_credentials&grant_type=client_credentials", FORM, TOKEN),
        (b"grant_type=client_credentials&scope=province&scope=observer", FORM, TOKEN),
        (b"grant_type=client_credentials&&scope=province", FORM, TOKEN),
        (b"grant_type=client_credentials&scope", FORM, TOKEN),
        (b"grant_type=client_credentials&scope=%FF", FORM, TOKEN),
        (b"grant_type=client_credentials&scope=\xff", FORM, TOKEN),
        (b"grant_type=client_credentials", FORM, f"{TOKEN}?client_secret=x"),
    ],
    ids=[
        "json",
        "no-content-type",
        "latin-1",
        "repeated-grant-type",
        "repeated-scope",
        "empty-field",
        "field-without-value",
        "percent-escape-not-utf8",
        "raw-byte-not-utf8",
        "query-string",
    ],
)
async def test_a_request_that_is_not_one_form_body_is_invalid_request(
    gateway: Gateway, content: bytes, headers: dict[str, str], url: str
) -> None:
    client_id, secret = await gateway.new_client()
    answer = await gateway.client.post(
        url, content=content, headers={**headers, "Authorization": basic(client_id, secret)}
    )
    assert_oauth_error(answer, 400, "invalid_request")


# -- unsupported_grant_type, invalid_scope, unauthorized_client -----------------------------


@pytest.mark.parametrize("grant", ["password", "authorization_code", "refresh_token", "CLIENT"])
async def test_another_grant_type_is_unsupported(gateway: Gateway, grant: str) -> None:
    client_id, secret = await gateway.new_client()
    answer = await gateway.token({"grant_type": grant}, auth=(client_id, secret))
    assert_oauth_error(answer, 400, "unsupported_grant_type")


@pytest.mark.parametrize(
    ("scope", "says"),
    [
        ("ministry", "does not hold the role(s) ministry"),
        ("province ministry", "does not hold the role(s) ministry"),
        ("admin", "unknown role"),
        ('"province"', "unknown role"),
        ("province  observer", "single spaces"),
    ],
)
async def test_a_scope_beyond_the_clients_roles_is_invalid_scope(
    gateway: Gateway, scope: str, says: str
) -> None:
    client_id, secret = await gateway.new_client("province", "observer")
    answer = await gateway.token({**CLIENT_CREDENTIALS, "scope": scope}, auth=(client_id, secret))
    body = assert_oauth_error(answer, 400, "invalid_scope")
    assert says in body["error_description"]
    assert '"' not in body["error_description"]


async def test_a_disabled_client_is_unauthorized_at_once(gateway: Gateway) -> None:
    client_id, secret = await gateway.new_client()
    assert (await gateway.token(auth=(client_id, secret))).status_code == 200
    await gateway.disable(client_id)
    answer = await gateway.token(auth=(client_id, secret))
    body = assert_oauth_error(answer, 400, "unauthorized_client")
    assert "disabled" in body["error_description"]
    # The wrong secret of a disabled client learns nothing more than of any other.
    assert_invalid_client(await gateway.token(auth=(client_id, secret + "x")))


# -- invalid_client ------------------------------------------------------------------------


async def test_a_wrong_secret_is_invalid_client_with_a_basic_challenge(gateway: Gateway) -> None:
    client_id, secret = await gateway.new_client()
    body = assert_invalid_client(await gateway.token(auth=(client_id, secret[:-1] + "x")))
    assert body["error_description"] == "client authentication failed"
    post = {**CLIENT_CREDENTIALS, "client_id": client_id, "client_secret": "not-it"}
    assert_invalid_client(await gateway.token(post))


async def test_an_unknown_client_gets_the_answer_of_a_wrong_secret(gateway: Gateway) -> None:
    """No oracle: whether a client id exists is not told by the answer (nor by its timing:
    an unknown client is checked against a decoy hash)."""
    client_id, _ = await gateway.new_client()
    wrong = await gateway.token(auth=(client_id, "wrong-secret"))
    for unknown_id in (str(uuid4()), "not-a-uuid", "x" * 500):
        unknown = await gateway.token(auth=(unknown_id, "wrong-secret"))
        assert unknown.status_code == wrong.status_code == 401
        assert unknown.json() == wrong.json()
        keep = ("content-type", "cache-control", "www-authenticate", "content-length")
        assert {h: unknown.headers[h] for h in keep} == {h: wrong.headers[h] for h in keep}


@pytest.mark.parametrize(
    "authorization",
    [
        "Bearer abc",
        "Digest username=x",
        "Basic !!!not-base64",
        "Basic " + base64.b64encode(b"no-colon").decode(),
        "Basic " + base64.b64encode(b":secret-only").decode(),
        "Basic " + base64.b64encode(b"id-only:").decode(),
        "Basic " + base64.b64encode(b"\xff\xfe:x").decode(),
        "Basic " + base64.b64encode(b"id:%FF").decode(),
    ],
)
async def test_credentials_that_are_not_basic_are_invalid_client(
    gateway: Gateway, authorization: str
) -> None:
    assert_invalid_client(await gateway.token(Authorization=authorization))


@pytest.mark.parametrize(
    "form",
    [{}, {"client_id": "x"}, {"client_secret": "x"}],
    ids=["nothing", "id-only", "secret-only"],
)
async def test_no_credentials_is_invalid_client(gateway: Gateway, form: dict[str, str]) -> None:
    answer = await gateway.token({**CLIENT_CREDENTIALS, **form})
    body = assert_invalid_client(answer)
    assert "no client authentication" in body["error_description"]


# -- without a signing key -----------------------------------------------------------------


async def test_without_a_signing_key_the_endpoint_is_unavailable_after_authentication(
    gateway: Gateway,
) -> None:
    client_id, secret = await gateway.new_client()
    keys, gateway.identity.keys = gateway.identity.keys, None
    try:
        assert_invalid_client(await gateway.token(auth=(client_id, "wrong")))
        answer = await gateway.token(auth=(client_id, secret))
        assert_oauth_error(answer, 503, "temporarily_unavailable")
        assert (await gateway.client.get("/.well-known/jwks.json")).json() == {"keys": []}
    finally:
        gateway.identity.keys = keys


# -- the OpenAPI document ------------------------------------------------------------------


async def test_the_openapi_document_describes_the_token_endpoint(gateway: Gateway) -> None:
    document = (await gateway.client.get("/openapi.json")).json()
    operation = document["paths"][TOKEN]["post"]
    body = operation["requestBody"]["content"]
    assert list(body) == ["application/x-www-form-urlencoded"]
    assert body["application/x-www-form-urlencoded"]["schema"]["required"] == ["grant_type"]
    assert set(operation["responses"]) == {"200", "400", "401", "413", "429", "503"}
    assert "WWW-Authenticate" in operation["responses"]["401"]["headers"]
    assert "Retry-After" in operation["responses"]["429"]["headers"]
    assert "/.well-known/jwks.json" in document["paths"]
