"""OAuth clients — the provincial systems that call the API — and the rules of giving them tokens.

A client is created by an operator (``laborcoop-gateway clients create``) with a name, the roles
it holds and, for a ``province`` client, its province. It authenticates with a secret that only
its hash is kept of (``credentials``); a rotation keeps the previous secret valid until a grace
deadline, so a provincial system can switch without an outage; a disabled client gets no further
token. Clients publish no events: no other service keeps anything of them, the tokens carry what
the services need (``sub``, ``province``, ``roles``).

Errors of the token endpoint are :class:`OAuthError` (RFC 6749 §5.2), not problems: OAuth clients
read ``error`` and ``error_description`` (ADR 0012). Pure: no I/O.
"""

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import ClassVar, Final
from uuid import UUID, uuid4

from laborcoop.common.principal import Role
from laborcoop.common.problems import InvalidInput, InvalidState
from laborcoop.contracts.envelope import CloudEvent
from laborcoop.contracts.provinces import is_province_code

NAME_MAX_LENGTH: Final = 200

_DESCRIPTION_UNSAFE: Final = re.compile(r"[^\x20\x21\x23-\x5b\x5d-\x7e]")
"""What RFC 6749 §5.2 forbids in ``error_description`` (outside visible ASCII, ``"`` and ``\\``)."""


class OAuthError(Exception):
    """An error answer of the token endpoint: ``error`` (an RFC 6749 §5.2 code), a description
    for the developer, the HTTP status and headers. A description never echoes a secret."""

    REALM: ClassVar[str] = 'Basic realm="laborcoop"'

    def __init__(
        self,
        error: str,
        description: str,
        *,
        status: int = 400,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(f"{error}: {description}")
        self.error = error
        self.description = _DESCRIPTION_UNSAFE.sub("?", description)
        self.status = status
        self.headers = headers or {}

    @classmethod
    def invalid_request(cls, description: str) -> "OAuthError":
        return cls("invalid_request", description)

    @classmethod
    def invalid_client(cls, description: str = "client authentication failed") -> "OAuthError":
        """401 with a ``WWW-Authenticate`` challenge (RFC 6749 §5.2). The default description is
        the one answer to an unknown client and to a wrong secret alike."""
        challenge = {"WWW-Authenticate": cls.REALM}
        return cls("invalid_client", description, status=401, headers=challenge)

    @classmethod
    def unauthorized_client(cls, description: str) -> "OAuthError":
        return cls("unauthorized_client", description)

    @classmethod
    def invalid_scope(cls, description: str) -> "OAuthError":
        return cls("invalid_scope", description)

    @classmethod
    def unsupported_grant_type(cls, description: str) -> "OAuthError":
        return cls("unsupported_grant_type", description)

    @classmethod
    def slow_down(cls, retry_after_s: int) -> "OAuthError":
        """Too many failed authentications: 429 with ``Retry-After`` (ADR 0012)."""
        return cls(
            "slow_down",
            f"too many failed client authentications; retry after {retry_after_s} s",
            status=429,
            headers={"Retry-After": str(retry_after_s)},
        )

    @classmethod
    def temporarily_unavailable(cls, description: str) -> "OAuthError":
        return cls("temporarily_unavailable", description, status=503)


def parse_roles(names: list[str]) -> tuple[Role, ...]:
    """Role names as a client's roles: each known, in :class:`Role` order, each once."""
    unknown = [name for name in names if name not in set(Role)]
    if unknown:
        raise InvalidInput.field(
            "roles", f"unknown role(s) {', '.join(unknown)}: use {', '.join(Role)}", "unknown_role"
        )
    if not names:
        raise InvalidInput.field("roles", "a client holds at least one role", "required")
    return tuple(role for role in Role if role in names)


def _name(value: str) -> str:
    name = unicodedata.normalize("NFC", value.strip())
    if not name or len(name) > NAME_MAX_LENGTH:
        raise InvalidInput.field("name", f"1 to {NAME_MAX_LENGTH} characters", "length")
    if any(unicodedata.category(c) == "Cc" for c in name):
        raise InvalidInput.field("name", "control characters are not allowed", "invalid")
    return name


@dataclass
class Client:
    """One OAuth client. ``secret_hash`` authenticates it; ``previous_secret_hash`` too, until
    ``previous_secret_expires_at`` (after a rotation); from ``disabled_at`` on, it gets no token."""

    id: UUID
    name: str
    province: str | None
    roles: tuple[Role, ...]
    secret_hash: str = field(repr=False)
    previous_secret_hash: str | None = field(repr=False)
    previous_secret_expires_at: datetime | None
    disabled_at: datetime | None
    version: int
    created_at: datetime
    updated_at: datetime
    pending_events: list[CloudEvent] = field(default_factory=list, repr=False, compare=False)

    @classmethod
    def register(
        cls,
        *,
        name: str,
        province: str | None,
        roles: tuple[Role, ...],
        secret_hash: str,
        now: datetime,
    ) -> "Client":
        """A new client; a ``province`` client names its province (the services refuse a
        province token without one), and a province code must be a GB/T 2260 province."""
        if not roles:
            raise InvalidInput.field("roles", "a client holds at least one role", "required")
        if province is not None and not is_province_code(province):
            raise InvalidInput.field("province", "not a GB/T 2260 province code", "invalid")
        if Role.PROVINCE in roles and province is None:
            raise InvalidInput.field("province", "a province client names its province", "required")
        return cls(
            id=uuid4(),
            name=_name(name),
            province=province,
            roles=roles,
            secret_hash=secret_hash,
            previous_secret_hash=None,
            previous_secret_expires_at=None,
            disabled_at=None,
            version=1,
            created_at=now,
            updated_at=now,
        )

    @property
    def disabled(self) -> bool:
        return self.disabled_at is not None

    def rotate_secret(self, secret_hash: str, *, now: datetime, grace: timedelta) -> None:
        """``secret_hash`` becomes the secret; the one it replaces stays valid for ``grace``
        (none when zero). A secret kept from an earlier rotation is dropped at once."""
        if self.disabled:
            raise InvalidState("disabled", "rotate the secret of a client")
        if grace > timedelta(0):
            self.previous_secret_hash = self.secret_hash
            self.previous_secret_expires_at = now + grace
        else:
            self.previous_secret_hash = None
            self.previous_secret_expires_at = None
        self.secret_hash = secret_hash
        self._changed(now)

    def disable(self, now: datetime) -> None:
        """No token from now on; disabling again changes nothing."""
        if self.disabled:
            return
        self.disabled_at = now
        self.previous_secret_hash = None
        self.previous_secret_expires_at = None
        self._changed(now)

    def secret_hashes(self, now: datetime) -> tuple[str, ...]:
        """The hashes a presented secret may match now: the secret's, and the previous one's
        before its deadline."""
        previous = self.previous_secret_hash
        deadline = self.previous_secret_expires_at
        if previous is not None and deadline is not None and now < deadline:
            return (self.secret_hash, previous)
        return (self.secret_hash,)

    def token_roles(self, scope: str | None) -> tuple[Role, ...]:
        """The roles of a token for this (authenticated) client: those ``scope`` names (RFC 6749
        §3.3: space-separated), each one the client holds, or all of its roles without a scope.
        A disabled client gets none (``unauthorized_client``)."""
        if self.disabled:
            raise OAuthError.unauthorized_client("this client is disabled")
        if scope is None:
            return self.roles
        requested = scope.split(" ")
        if "" in requested:
            raise OAuthError.invalid_scope("separate the roles of the scope by single spaces")
        if any(name not in set(Role) for name in requested):
            raise OAuthError.invalid_scope(
                f"the scope names an unknown role (the roles are {', '.join(Role)})"
            )
        lacking = [role for role in Role if role in requested and role not in self.roles]
        if lacking:
            raise OAuthError.invalid_scope(
                f"this client does not hold the role(s) {', '.join(lacking)}"
            )
        return tuple(role for role in self.roles if role in requested)

    def _changed(self, now: datetime) -> None:
        self.version += 1
        self.updated_at = now
