"""The token request as RFC 6749 defines it: a form-encoded body and the client's credentials.

- The parameters come in the body as ``application/x-www-form-urlencoded`` (§4.4.2), never in the
  query string (a secret there ends up in access logs). The body is parsed strictly: a field
  without ``=`` or with percent-escapes that are not UTF-8 is an ``invalid_request``; so is a
  parameter of the token request given twice (§3.2). Other parameters are ignored (§3.2), and a
  parameter without a value counts as absent (§3.2).
- The client authenticates with HTTP Basic (``client_secret_basic``: id and secret each
  form-urlencoded, then joined by ``:``, §2.3.1) or with ``client_id`` and ``client_secret`` in
  the body (``client_secret_post``); both at once is an ``invalid_request`` (§2.3), another
  ``Authorization`` scheme or no credentials an ``invalid_client``.
"""

import base64
import binascii
from dataclasses import dataclass, field
from typing import Final, Literal
from urllib.parse import parse_qsl, unquote_plus

from laborcoop.gateway.identity.domain import OAuthError

FORM_MEDIA_TYPE: Final = "application/x-www-form-urlencoded"
CLIENT_CREDENTIALS: Final = "client_credentials"
PARAMETERS: Final = frozenset({"grant_type", "scope", "client_id", "client_secret"})
"""The parameters of a client-credentials token request; any other is ignored."""
MAX_FIELDS: Final = 32

Method = Literal["client_secret_basic", "client_secret_post"]


def token_request_form(content_type: str | None, body: bytes, query: bytes) -> dict[str, str]:
    """The token request's parameters (those of :data:`PARAMETERS` that have a value)."""
    if query:
        raise OAuthError.invalid_request(
            "send the parameters in the request body, not in the query string"
        )
    media, _, rest = (content_type or "").partition(";")
    if media.strip().lower() != FORM_MEDIA_TYPE:
        raise OAuthError.invalid_request(f"send the parameters as {FORM_MEDIA_TYPE}")
    charset = _charset(rest)
    if charset not in {None, "utf-8"}:
        raise OAuthError.invalid_request("the body's charset must be UTF-8")
    try:
        pairs = parse_qsl(
            body.decode("utf-8"),
            keep_blank_values=True,
            strict_parsing=True,
            encoding="utf-8",
            errors="strict",
            max_num_fields=MAX_FIELDS,
        )
    except ValueError:  # UnicodeDecodeError included
        raise OAuthError.invalid_request(
            "the body is not form-urlencoded UTF-8 name=value pairs"
        ) from None
    form: dict[str, str] = {}
    seen: set[str] = set()
    for name, value in pairs:
        if name not in PARAMETERS:
            continue
        if name in seen:
            raise OAuthError.invalid_request(f"{name} is given more than once")
        seen.add(name)
        if value:
            form[name] = value
    return form


def _charset(parameters: str) -> str | None:
    for parameter in parameters.split(";"):
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "charset":
            return value.strip().strip('"').lower()
    return None


def require_client_credentials_grant(form: dict[str, str]) -> None:
    grant = form.get("grant_type")
    if grant is None:
        raise OAuthError.invalid_request("grant_type is required (client_credentials)")
    if grant != CLIENT_CREDENTIALS:
        raise OAuthError.unsupported_grant_type(
            "this server issues tokens only for the client_credentials grant"
        )


@dataclass(frozen=True)
class ClientCredentials:
    """What the client presented: its id, its secret, and how it sent them."""

    client_id: str
    secret: str = field(repr=False)
    method: Method


def client_credentials(authorization: str | None, form: dict[str, str]) -> ClientCredentials:
    """The credentials of the request, by HTTP Basic or in the body (one of the two)."""
    if authorization is None:
        client_id, secret = form.get("client_id"), form.get("client_secret")
        if client_id is None or secret is None:
            raise OAuthError.invalid_client(
                "no client authentication: send HTTP Basic credentials, or client_id and "
                "client_secret in the body"
            )
        return ClientCredentials(client_id, secret, "client_secret_post")
    scheme, _, encoded = authorization.strip().partition(" ")
    if scheme.lower() != "basic":
        raise OAuthError.invalid_client(
            "unsupported client authentication: use HTTP Basic (client_secret_basic) or "
            "client_id and client_secret in the body (client_secret_post)"
        )
    if "client_secret" in form:
        raise OAuthError.invalid_request(
            "the client authenticated twice: use HTTP Basic or client_secret in the body, not both"
        )
    client_id, secret = _basic(encoded.strip())
    if form.get("client_id", client_id) != client_id:
        raise OAuthError.invalid_request(
            "client_id in the body names another client than the HTTP Basic credentials"
        )
    return ClientCredentials(client_id, secret, "client_secret_basic")


def _basic(encoded: str) -> tuple[str, str]:
    """The id and secret of HTTP Basic credentials: base64 of ``id:secret``, each
    form-urlencoded (RFC 6749 §2.3.1), then decoded as UTF-8."""
    malformed = OAuthError.invalid_client(
        "malformed HTTP Basic credentials: base64 of <client_id>:<client_secret>, each "
        "form-urlencoded"
    )
    try:
        decoded = base64.b64decode(encoded, validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        raise malformed from None
    raw_id, separator, raw_secret = decoded.partition(":")
    try:
        client_id = unquote_plus(raw_id, errors="strict")
        secret = unquote_plus(raw_secret, errors="strict")
    except UnicodeDecodeError:
        raise malformed from None
    if not separator or not client_id or not secret:
        raise malformed
    return client_id, secret
