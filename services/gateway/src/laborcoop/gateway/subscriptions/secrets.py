"""Signing secrets: made, sealed at rest, and used to sign a delivery (Standard Webhooks).

A secret is ``whsec_`` + base64 of 32 random bytes; the HMAC key is those bytes. The gateway must
sign with it on every delivery, so it cannot keep only a hash: it keeps it sealed with AES-GCM
under ``LABORCOOP_WEBHOOK_SECRET_KEY``, bound to its subscription (the id is the associated data,
so a sealed secret copied to another row does not open). A stolen database alone signs nothing.
"""

import base64
import hashlib
import hmac
import secrets
from collections.abc import Sequence
from typing import Final
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

PREFIX: Final = "whsec_"
SECRET_BYTES: Final = 32
KEY_BYTES: Final = 32
_NONCE_BYTES: Final = 12
_SEALED_VERSION: Final = "v1"
DEVELOPMENT_KEY: Final = hashlib.sha256(b"laborcoop development webhook secret key").digest()
"""The key outside production when none is set: sealed secrets are then only obscured."""


class SecretUnreadable(Exception):
    """A sealed secret that the configured key does not open (the key was changed)."""


def new_secret() -> str:
    return PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def secret_bytes(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(PREFIX))


def new_key() -> str:
    """A new ``LABORCOOP_WEBHOOK_SECRET_KEY``."""
    return base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode()


class SecretBox:
    """Seals and opens signing secrets with one AES-256-GCM key."""

    def __init__(self, key: bytes) -> None:
        if len(key) != KEY_BYTES:
            raise ValueError(f"the webhook secret key must be {KEY_BYTES} bytes")
        self._cipher = AESGCM(key)

    @classmethod
    def from_setting(cls, value: str | None) -> "SecretBox":
        return cls(DEVELOPMENT_KEY if value is None else base64.b64decode(value, validate=True))

    def seal(self, secret: str, subscription_id: UUID) -> str:
        nonce = secrets.token_bytes(_NONCE_BYTES)
        sealed = self._cipher.encrypt(nonce, secret.encode(), subscription_id.bytes)
        return f"{_SEALED_VERSION}:{base64.b64encode(nonce + sealed).decode()}"

    def open(self, sealed: str, subscription_id: UUID) -> str:
        version, _, payload = sealed.partition(":")
        if version != _SEALED_VERSION:
            raise SecretUnreadable(f"unknown sealing {version!r}")
        raw = base64.b64decode(payload)
        try:
            plain = self._cipher.decrypt(
                raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], subscription_id.bytes
            )
        except InvalidTag as exc:
            raise SecretUnreadable("the webhook secret key does not open this secret") from exc
        return plain.decode()


def signature(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """``v1,<base64 HMAC-SHA256>`` of ``{id}.{timestamp}.{body}`` (Standard Webhooks)."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_bytes(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signatures(live: Sequence[str], message_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` header: one signature per live secret, space-separated."""
    return " ".join(signature(secret, message_id, timestamp, body) for secret in live)
