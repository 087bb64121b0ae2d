"""Client secrets: made at random, shown once, kept only as argon2id hashes.

A secret is 32 random bytes, URL-safe base64 (43 characters, no character that needs escaping in
a form or in HTTP Basic). Its hash is argon2id with argon2-cffi's defaults (RFC 9106's second
recommended option: 64 MiB, 3 passes, 4 lanes), about 0.1 to 0.2 s of one core. Verification
runs in a worker thread so the event loop keeps serving, at most :data:`VERIFICATIONS_AT_ONCE`
at a time so a burst of token requests cannot take every core and 64 MiB each; an unknown client
is verified against a decoy hash, so that it takes as long as a wrong secret (no timing oracle).
"""

import asyncio
import secrets
from collections.abc import Sequence
from functools import cached_property
from typing import Final

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

SECRET_BYTES: Final = 32
VERIFICATIONS_AT_ONCE: Final = 4


def new_secret() -> str:
    return secrets.token_urlsafe(SECRET_BYTES)


class SecretHasher:
    """Hashes secrets and checks a presented secret against a client's hashes."""

    def __init__(self, at_once: int = VERIFICATIONS_AT_ONCE) -> None:
        self._hasher = PasswordHasher()
        self._slots = asyncio.Semaphore(at_once)

    def hash(self, secret: str) -> str:
        return self._hasher.hash(secret)

    async def matches(self, secret: str, hashes: Sequence[str]) -> bool:
        """Whether ``secret`` matches one of ``hashes``; with none (an unknown client), the
        decoy's cost is paid and the answer is no."""
        async with self._slots:
            return await asyncio.to_thread(self._matches, secret, hashes)

    def _matches(self, secret: str, hashes: Sequence[str]) -> bool:
        if not hashes:
            self._verifies(self._decoy, secret)
            return False
        return any(self._verifies(stored, secret) for stored in hashes)

    def _verifies(self, stored: str, secret: str) -> bool:
        try:
            return self._hasher.verify(stored, secret)
        except (VerificationError, InvalidHashError):
            return False

    @cached_property
    def _decoy(self) -> str:
        """The hash of a secret nobody knows, made on first use (in the worker thread)."""
        return self._hasher.hash(new_secret())
