"""``POST /v1/oauth/token`` (client credentials) and ``GET /.well-known/jwks.json``.

The token endpoint is OAuth's, not one of the JSON API's routes: its body is form-encoded and its
errors are RFC 6749 §5.2 documents (ADR 0012). So its route is a :class:`FormRoute`, which the
app factory leaves as it is (``use_json_routes`` changes plain routes only): no JSON body, and a
query string is refused by the route itself as an OAuth ``invalid_request`` rather than as a
problem. Every answer of the endpoint carries ``Cache-Control: no-store`` (RFC 6749 §5.1).
"""

from http import HTTPStatus
from typing import Annotated, Any, Final

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute

from laborcoop.common.deps import DbPool, use_cases
from laborcoop.common.errors import PROBLEM_JSON, ProblemDocument, problem_responses
from laborcoop.gateway.identity.domain import OAuthError
from laborcoop.gateway.identity.oauth import FORM_MEDIA_TYPE, token_request_form
from laborcoop.gateway.identity.schemas import TOKEN_REQUEST, JwksOut, OAuthErrorOut, TokenOut
from laborcoop.gateway.identity.service import Identity
from laborcoop.gateway.uses import GatewayUses

Use = Annotated[Identity, use_cases(GatewayUses, lambda uses: uses.identity)]

NO_STORE: Final = {"Cache-Control": "no-store"}


class FormRoute(APIRoute):
    """A route that reads a form-encoded body itself and answers its own errors (not a
    ``JsonRoute``: ``use_json_routes`` leaves routes of other classes alone)."""


token_router = APIRouter(tags=["identity"], route_class=FormRoute)
keys_router = APIRouter(tags=["identity"])


def _header(description: str) -> dict[str, Any]:
    return {"description": description, "schema": {"type": "string"}}


_CACHE_CONTROL: Final = {"Cache-Control": _header("`no-store`")}


def _oauth_error(description: str, **headers: dict[str, Any]) -> dict[str, Any]:
    return {
        "model": OAuthErrorOut,
        "description": description,
        "headers": {**_CACHE_CONTROL, **headers},
    }


_TOKEN_RESPONSES: Final[dict[int | str, dict[str, Any]]] = {
    200: {"model": TokenOut, "description": "The access token.", "headers": _CACHE_CONTROL},
    400: _oauth_error(
        "`invalid_request` (no or repeated parameter, not form-encoded, parameters in the query "
        "string, two authentication methods), `unsupported_grant_type`, `invalid_scope` (a role "
        "the client does not hold), `unauthorized_client` (the client is disabled)."
    ),
    401: _oauth_error(
        "`invalid_client`: no, malformed or wrong credentials, or no such client (one answer "
        "for both).",
        **{"WWW-Authenticate": _header('`Basic realm="laborcoop"`')},
    ),
    413: {
        "model": ProblemDocument,
        "description": HTTPStatus(413).phrase,
        "content": {PROBLEM_JSON: {}},
    },
    429: _oauth_error(
        "`slow_down`: too many failed authentications of this client id or from this address "
        "(ADR 0012); nothing was checked.",
        **{"Retry-After": _header("Seconds until a new attempt is counted.")},
    ),
    503: _oauth_error("`temporarily_unavailable`: the gateway has no signing key."),
}


@token_router.post(
    "/v1/oauth/token",
    summary="Get an access token (OAuth 2.0 client credentials)",
    description="RFC 6749 §4.4. Authenticate with HTTP Basic (`client_secret_basic`: "
    "`base64(urlencode(client_id):urlencode(client_secret))`) or with `client_id` and "
    "`client_secret` in the form (`client_secret_post`), not both. The answer's `access_token` "
    "is a JWT signed by the key of `/.well-known/jwks.json` its header names; send it as "
    "`Authorization: Bearer …` until it expires (`expires_in`), then get another. Errors are "
    "RFC 6749 §5.2 documents, not problems.",
    response_class=JSONResponse,
    responses=_TOKEN_RESPONSES,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {FORM_MEDIA_TYPE: {"schema": TOKEN_REQUEST}},
        }
    },
)
async def issue_token(request: Request, pool: DbPool, use: Use) -> JSONResponse:
    try:
        form = token_request_form(
            request.headers.get("content-type"),
            await request.body(),
            request.scope.get("query_string", b""),
        )
        address = request.client.host if request.client is not None else "unknown"
        issued = await use.issue(pool, form, request.headers.get("authorization"), address)
    except OAuthError as error:
        body = {"error": error.error, "error_description": error.description}
        return JSONResponse(body, status_code=error.status, headers={**NO_STORE, **error.headers})
    token = TokenOut(
        access_token=issued.access_token,
        token_type="Bearer",  # noqa: S106 - the token type (RFC 6750), no password
        expires_in=issued.expires_in,
        scope=issued.scope,
    )
    return JSONResponse(token.model_dump(), headers=NO_STORE)


@keys_router.get(
    "/.well-known/jwks.json",
    summary="The public keys that verify access tokens",
    description="Every key the gateway signs with or has signed with recently (RFC 7517); a "
    "token's header names its key (`kid`). Services load it with `LABORCOOP_JWKS_URL`. No "
    "token needed; cacheable for `LABORCOOP_JWKS_MAX_AGE_S`.",
    response_model=JwksOut,
    responses={422: problem_responses()[422]},
)
async def jwks(use: Use) -> JSONResponse:
    cache = f"public, max-age={use.jwks_max_age_s}"
    return JSONResponse(use.jwks(), headers={"Cache-Control": cache})
