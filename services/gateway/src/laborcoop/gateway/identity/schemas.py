"""The token endpoint's and the key set's documents (RFC 6749 §5.1 and §5.2, RFC 7517)."""

from typing import Any, Final, Literal

from pydantic import ConfigDict, Field

from laborcoop.common.inputs import ApiModel

ErrorCode = Literal[
    "invalid_request",
    "invalid_client",
    "unauthorized_client",
    "invalid_scope",
    "unsupported_grant_type",
    "slow_down",
    "temporarily_unavailable",
]


_ROLE_NAME = r"[\x21\x23-\x5b\x5d-\x7e]+"

TOKEN_REQUEST: Final[dict[str, Any]] = {
    "title": "TokenRequest",
    "description": "The form of a token request (RFC 6749 §4.4.2). Other parameters are ignored "
    "(§3.2); a parameter without a value counts as absent.",
    "type": "object",
    "required": ["grant_type"],
    "properties": {
        "grant_type": {"type": "string", "const": "client_credentials"},
        "scope": {
            "type": "string",
            "description": "Space-separated roles the token should carry, each one the client "
            "holds (`province`, `ministry`, `observer`); without it, all of them.",
            "pattern": f"^{_ROLE_NAME}( {_ROLE_NAME})*$",
        },
        "client_id": {
            "type": "string",
            "description": "`client_secret_post`: the client id (or send HTTP Basic credentials).",
        },
        "client_secret": {
            "type": "string",
            "description": "`client_secret_post`: the client's secret (never with HTTP Basic).",
        },
    },
    "examples": [{"grant_type": "client_credentials", "scope": "province"}],
}
"""The form body, for the OpenAPI document only: the route reads the body itself
(``oauth.token_request_form``)."""


class TokenOut(ApiModel):
    """An access token (RFC 6749 §5.1): a JWT to send as ``Authorization: Bearer``."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "access_token": "eyJhbGciOiJFZERTQSIsImtpZCI6IjIwMjYtMDEiLCJ0eXAiOiJKV1QifQ…",
                    "token_type": "Bearer",
                    "expires_in": 900,
                    "scope": "province",
                }
            ]
        }
    )

    access_token: str
    token_type: Literal["Bearer"]
    expires_in: int = Field(description="Seconds until the token expires.")
    scope: str = Field(description="The roles the token carries, space-separated.")


class OAuthErrorOut(ApiModel):
    """An error of the token endpoint (RFC 6749 §5.2; ``slow_down`` with 429, ADR 0012)."""

    error: ErrorCode
    error_description: str


class PublicJwk(ApiModel):
    """One public signing key (RFC 8037: Ed25519 as an OKP key)."""

    kty: Literal["OKP"]
    crv: Literal["Ed25519"]
    x: str
    kid: str
    alg: Literal["EdDSA"]
    use: Literal["sig"]


class JwksOut(ApiModel):
    """The public keys that verify the gateway's tokens (RFC 7517 §5)."""

    keys: list[PublicJwk]
