"""The identity use cases: the operators' (create, list, rotate a secret, disable a client) and
the token endpoint's (authenticate a client and sign its token).

The order of the token endpoint's checks (each answer is an :class:`OAuthError`):

1. the grant type: absent → ``invalid_request``, another → ``unsupported_grant_type``;
2. the credentials' shape (``oauth.client_credentials``): both mechanisms → ``invalid_request``,
   none, another scheme or malformed Basic → ``invalid_client`` (a failure of the address);
3. the failure limit of the client id and of the address → 429 ``slow_down``, before any secret
   is checked (``limits``);
4. the secret, against the client's hashes or a decoy when there is no such client → the same
   ``invalid_client`` for both (a failure of the client id and of the address);
5. the client: disabled → ``unauthorized_client``; the scope → ``invalid_scope``;
6. the signing key: none configured (outside production and development) → 503.
"""

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Final
from uuid import UUID

from laborcoop.common.clock import Clock
from laborcoop.common.db import Connection, Pool
from laborcoop.common.principal import Role
from laborcoop.common.unit_of_work import UnitOfWork
from laborcoop.gateway.identity import oauth
from laborcoop.gateway.identity.credentials import SecretHasher, new_secret
from laborcoop.gateway.identity.domain import Client, OAuthError
from laborcoop.gateway.identity.keys import SigningKeys
from laborcoop.gateway.identity.limits import FailureLimit
from laborcoop.gateway.identity.repository import CLIENT_STORE, page

MAX_CLIENT_ID_LENGTH: Final = 128
MAX_SECRET_LENGTH: Final = 512
"""Longer credentials cannot be right: refused without hashing them."""


@dataclass(frozen=True)
class NewSecret:
    """A client and the secret just made for it: shown once, then only its hash remains."""

    client: Client
    secret: str = field(repr=False)


@dataclass(frozen=True)
class IssuedToken:
    access_token: str = field(repr=False)
    expires_in: int
    roles: tuple[Role, ...]

    @property
    def scope(self) -> str:
        return " ".join(self.roles)


class Identity:
    """Clients and their tokens. ``keys`` sign the tokens (None: the endpoint answers 503);
    ``failures`` counts failed authentications in this replica's memory."""

    def __init__(
        self,
        clock: Clock,
        *,
        keys: SigningKeys | None,
        token_ttl_s: int,
        jwks_max_age_s: int,
        failures: FailureLimit,
        hasher: SecretHasher | None = None,
    ) -> None:
        self.clock = clock
        self.keys = keys
        self.token_ttl_s = token_ttl_s
        self.jwks_max_age_s = jwks_max_age_s
        self.failures = failures
        self.hasher = hasher or SecretHasher()

    # -- operators ---------------------------------------------------------------------------

    def create(
        self, uow: UnitOfWork, *, name: str, province: str | None, roles: tuple[Role, ...]
    ) -> NewSecret:
        secret = new_secret()
        client = Client.register(
            name=name,
            province=province,
            roles=roles,
            secret_hash=self.hasher.hash(secret),
            now=self.clock(),
        )
        CLIENT_STORE.add(uow, client)
        return NewSecret(client, secret)

    async def rotate_secret(self, uow: UnitOfWork, client_id: UUID, grace: timedelta) -> NewSecret:
        client = await CLIENT_STORE.load(uow, client_id)
        secret = new_secret()
        client.rotate_secret(self.hasher.hash(secret), now=self.clock(), grace=grace)
        CLIENT_STORE.save(uow, client)
        return NewSecret(client, secret)

    async def disable(self, uow: UnitOfWork, client_id: UUID) -> Client:
        client = await CLIENT_STORE.load(uow, client_id)
        client.disable(self.clock())
        CLIENT_STORE.save(uow, client)
        return client

    async def clients(self, conn: Connection, *, after: UUID | None, limit: int) -> list[Client]:
        return await page(conn, after=after, limit=limit)

    # -- the token endpoint ------------------------------------------------------------------

    def jwks(self) -> dict[str, object]:
        """The public keys (none without signing keys)."""
        return self.keys.jwks() if self.keys is not None else {"keys": []}

    async def issue(
        self, pool: Pool, form: dict[str, str], authorization: str | None, address: str
    ) -> IssuedToken:
        """A token for the client the request authenticates (module docstring: the checks)."""
        oauth.require_client_credentials_grant(form)
        by_address = f"address {address}"
        try:
            credentials = oauth.client_credentials(authorization, form)
        except OAuthError as error:
            if error.error == "invalid_client":
                self.failures.failed([by_address])
            raise
        keys = [f"client {_normalised(credentials.client_id)}", by_address]
        retry_after = self.failures.retry_after(keys)
        if retry_after is not None:
            raise OAuthError.slow_down(retry_after)
        client = await self._authenticated(pool, credentials)
        if client is None:
            self.failures.failed(keys)
            raise OAuthError.invalid_client()
        roles = client.token_roles(form.get("scope"))
        if self.keys is None:
            raise OAuthError.temporarily_unavailable("the gateway has no token signing key")
        token = self.keys.signer.sign(
            str(client.id),
            province=client.province,
            roles=[role.value for role in roles],
            ttl_s=self.token_ttl_s,
            now=self.clock().timestamp(),
        )
        return IssuedToken(token, self.token_ttl_s, roles)

    async def _authenticated(
        self, pool: Pool, credentials: oauth.ClientCredentials
    ) -> Client | None:
        """The client whose secret was presented, or None (an unknown client costs the same
        hashing as a wrong secret)."""
        if len(credentials.secret) > MAX_SECRET_LENGTH:
            return None
        client_id = _uuid(credentials.client_id)
        client = None
        if client_id is not None:
            async with pool.acquire() as conn:
                client = await CLIENT_STORE.get(conn, client_id)
        hashes = client.secret_hashes(self.clock()) if client is not None else ()
        if await self.hasher.matches(credentials.secret, hashes):
            return client
        return None


def _uuid(client_id: str) -> UUID | None:
    if len(client_id) > MAX_CLIENT_ID_LENGTH:
        return None
    try:
        return UUID(client_id)
    except ValueError:
        return None


def _normalised(client_id: str) -> str:
    """One key per client, however its id is spelt (``UUID`` accepts upper case, braces)."""
    parsed = _uuid(client_id)
    return str(parsed) if parsed is not None else client_id[:MAX_CLIENT_ID_LENGTH]
