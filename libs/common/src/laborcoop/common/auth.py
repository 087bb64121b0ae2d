"""Bearer-token identity, verified by every service itself (docs/design.md §6).

Tokens are JWTs signed with EdDSA (Ed25519) or RS256 by the gateway's token endpoint. A service
loads the public key set once at start-up (a JWKS file locally, the gateway's JWKS URL in a
cluster) and turns each request's token into a :class:`Principal`.
"""

import json
import time
from collections import OrderedDict
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Final
from uuid import uuid4

import httpx
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import Depends, Request
from jwt import PyJWK, PyJWKSet
from jwt.algorithms import OKPAlgorithm

from laborcoop.common.deps import state_of
from laborcoop.common.errors import Forbidden, Unauthorized
from laborcoop.common.principal import Principal, Role
from laborcoop.contracts.provinces import is_province_code

ALGORITHMS: Final = ["EdDSA", "RS256"]
_VERIFIED_CACHE_SIZE: Final = 4096
JWKS_REFRESH_S: Final = 60.0


class KeySet:
    """Public keys by key id, with the issuer and audience every token must name."""

    def __init__(
        self, jwks: dict[str, Any], *, issuer: str, audience: str, url: str | None = None
    ) -> None:
        self._keys = _usable_keys(jwks)
        self._issuer = issuer
        self._audience = audience
        self._url = url
        self._fetched_at = time.monotonic()
        self._verified: OrderedDict[str, tuple[Principal, float]] = OrderedDict()

    @classmethod
    def from_file(cls, path: Path, *, issuer: str, audience: str) -> "KeySet":
        return cls(json.loads(path.read_text()), issuer=issuer, audience=audience)

    @classmethod
    async def from_url(cls, url: str, *, issuer: str, audience: str) -> "KeySet":
        return cls(await _fetch(url), issuer=issuer, audience=audience, url=url)

    async def refresh_for(self, token: str) -> None:
        """Reload a URL key set when ``token`` names a key id it does not know (the issuer
        rotated its keys), at most once every :data:`JWKS_REFRESH_S` seconds."""
        if self._url is None or time.monotonic() - self._fetched_at < JWKS_REFRESH_S:
            return
        try:
            kid = jwt.get_unverified_header(token).get("kid")
        except jwt.PyJWTError:
            return
        if kid is None or str(kid) in self._keys:
            return
        self._fetched_at = time.monotonic()
        with suppress(httpx.HTTPError, ValueError):
            self._keys = _usable_keys(await _fetch(self._url))

    def verify(self, token: str) -> Principal:
        """The token's principal. A verified token is remembered until it expires (clients reuse
        a token for its lifetime; the cache is keyed by the whole signed token)."""
        cached = self._verified.get(token)
        if cached is not None:
            principal, expires = cached
            if expires > time.time():
                self._verified.move_to_end(token)
                return principal
            del self._verified[token]
        principal, expires = self._verify_signature(token)
        self._verified[token] = (principal, expires)
        if len(self._verified) > _VERIFIED_CACHE_SIZE:
            self._verified.popitem(last=False)
        return principal

    def _verify_signature(self, token: str) -> tuple[Principal, float]:
        try:
            kid = jwt.get_unverified_header(token).get("kid")
            key = self._keys.get(str(kid))
            if key is None:
                raise Unauthorized("token signed by an unknown key")
            claims = jwt.decode(
                token,
                key=key.key,
                algorithms=[key.algorithm_name],
                audience=self._audience,
                issuer=self._issuer,
                options={"require": ["exp", "sub", "iss", "aud"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise Unauthorized("token expired") from exc
        except (jwt.PyJWTError, ValueError, TypeError) as exc:
            raise Unauthorized(f"invalid token: {exc}") from exc
        return _principal(claims), float(claims["exp"])


def _usable_keys(jwks: dict[str, Any]) -> dict[str, PyJWK]:
    return {
        k.key_id: k
        for k in PyJWKSet.from_dict(jwks).keys
        if k.key_id is not None and k.algorithm_name in ALGORITHMS
    }


async def _fetch(url: str) -> dict[str, Any]:
    async with httpx.AsyncClient(timeout=10) as client:
        response = await client.get(url)
        response.raise_for_status()
        jwks: dict[str, Any] = response.json()
        return jwks


def _principal(claims: dict[str, Any]) -> Principal:
    try:
        roles = frozenset(Role(r) for r in claims.get("roles", []))
    except ValueError as exc:
        raise Unauthorized("token names an unknown role") from exc
    province = claims.get("province")
    if province is not None and not is_province_code(str(province)):
        raise Unauthorized("token names an unknown province")
    if Role.PROVINCE in roles and province is None:
        raise Unauthorized("a province token must name its province")
    return Principal(client_id=str(claims["sub"]), province=province, roles=roles)


@dataclass(frozen=True, slots=True)
class TokenSigner:
    """Signs tokens with an Ed25519 key (the gateway's token endpoint, the dev CLI and tests)."""

    private_key: Ed25519PrivateKey
    key_id: str
    issuer: str = "laborcoop"
    audience: str = "laborcoop"

    @classmethod
    def generate(cls, key_id: str = "dev-1", **kwargs: str) -> "TokenSigner":
        return cls(Ed25519PrivateKey.generate(), key_id, **kwargs)

    def jwks(self) -> dict[str, Any]:
        """The public key set to publish (``/.well-known/jwks.json``) or write to a file."""
        public = json.loads(OKPAlgorithm.to_jwk(self.private_key.public_key()))
        return {"keys": [{**public, "kid": self.key_id, "alg": "EdDSA", "use": "sig"}]}

    def private_pem(self) -> bytes:
        return self.private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    @classmethod
    def from_pem(cls, pem: bytes, key_id: str, **kwargs: str) -> "TokenSigner":
        key = serialization.load_pem_private_key(pem, password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError("the signing key must be Ed25519")
        return cls(key, key_id, **kwargs)

    def sign(
        self,
        client_id: str,
        *,
        province: str | None,
        roles: list[str],
        ttl_s: int = 900,
        now: float | None = None,
    ) -> str:
        """A token for ``client_id`` (its ``sub`` and ``client_id`` claims, RFC 9068 §2.2), with
        a ``jti`` of its own; ``province`` is left out when there is none."""
        issued = int(now if now is not None else time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": client_id,
            "client_id": client_id,
            "jti": str(uuid4()),
            "iat": issued,
            "exp": issued + ttl_s,
            "roles": roles,
        }
        if province is not None:
            claims["province"] = province
        return jwt.encode(claims, self.private_key, algorithm="EdDSA", headers={"kid": self.key_id})


_bearer_prefix = "bearer "


VERIFIED_PRINCIPAL: Final = "laborcoop.verified_principal"
"""Where, in the ASGI scope, a layer in front of the routes that has verified the request's
bearer token leaves its principal (the gateway's admission), so that the route does not verify
it a second time. Only the server's own code writes the scope."""


async def current_principal(request: Request) -> Principal:
    """FastAPI dependency: the verified principal of this request, or a 401 problem."""
    verified: Principal | None = request.scope.get(VERIFIED_PRINCIPAL)
    if verified is not None:
        return verified
    header = request.headers.get("authorization", "")
    if not header.lower().startswith(_bearer_prefix):
        raise Unauthorized("missing bearer token")
    keys = state_of(request.app).keys
    token = header[len(_bearer_prefix) :].strip()
    await keys.refresh_for(token)
    return keys.verify(token)


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def require_role(principal: Principal, *roles: Role) -> None:
    if not principal.roles.intersection(roles):
        raise Forbidden(f"requires role {' or '.join(roles)}")


__all__ = [
    "ALGORITHMS",
    "VERIFIED_PRINCIPAL",
    "CurrentPrincipal",
    "KeySet",
    "Principal",
    "Role",
    "TokenSigner",
    "current_principal",
    "require_role",
]
