"""Signing secrets: made, sealed at rest, and used to sign a delivery (Standard Webhooks).

A secret is ``whsec_`` + base64 of 32 random bytes; the HMAC key is those bytes. The gateway must
sign with it on every delivery, so it cannot keep only a hash: it keeps it sealed with AES-GCM
under ``LABORCOOP_WEBHOOK_SECRET_KEY``, bound to its subscription (the id is the associated data,
so a sealed secret copied to another row does not open). A stolen database alone signs nothing.

The key changes without every subscriber rotating: the new key seals, the keys it replaces
(``LABORCOOP_WEBHOOK_PREVIOUS_SECRET_KEYS``) still open what they sealed, and
``laborcoop-gateway reseal-webhook-secrets`` seals every stored secret again under the new key,
after which the previous keys can go.
"""

import base64
import binascii
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
    """Seals signing secrets with the current AES-256-GCM key; opens them with it or with one of
    the previous keys (a sealed value does not say which key sealed it: each is tried, and
    AES-GCM's tag refuses the wrong ones)."""

    def __init__(self, key: bytes, previous: Sequence[bytes] = ()) -> None:
        if any(len(k) != KEY_BYTES for k in (key, *previous)):
            raise ValueError(f"a webhook secret key must be {KEY_BYTES} bytes")
        self._cipher = AESGCM(key)
        self._previous = [AESGCM(k) for k in previous]

    @classmethod
    def from_setting(cls, value: str | None, previous: Sequence[str] = ()) -> "SecretBox":
        """The box of ``LABORCOOP_WEBHOOK_SECRET_KEY`` (the development key when None) and
        ``LABORCOOP_WEBHOOK_PREVIOUS_SECRET_KEYS``, each base64 of 32 bytes."""
        try:
            current = DEVELOPMENT_KEY if value is None else base64.b64decode(value, validate=True)
            return cls(current, [base64.b64decode(k, validate=True) for k in previous])
        except (ValueError, binascii.Error):
            raise ValueError(
                "LABORCOOP_WEBHOOK_SECRET_KEY and LABORCOOP_WEBHOOK_PREVIOUS_SECRET_KEYS must be "
                f"base64 of {KEY_BYTES} bytes (`laborcoop-gateway webhook-key` makes one)"
            ) from None

    def seal(self, secret: str, subscription_id: UUID) -> str:
        nonce = secrets.token_bytes(_NONCE_BYTES)
        sealed = self._cipher.encrypt(nonce, secret.encode(), subscription_id.bytes)
        return f"{_SEALED_VERSION}:{base64.b64encode(nonce + sealed).decode()}"

    def open(self, sealed: str, subscription_id: UUID) -> str:
        return self._opened(sealed, subscription_id)[0]

    def resealed(self, sealed: str, subscription_id: UUID) -> str | None:
        """``sealed`` sealed again under the current key, or None when it already is."""
        secret, by_current = self._opened(sealed, subscription_id)
        return None if by_current else self.seal(secret, subscription_id)

    def _opened(self, sealed: str, subscription_id: UUID) -> tuple[str, bool]:
        """The secret, and whether the current key opened it."""
        version, _, payload = sealed.partition(":")
        if version != _SEALED_VERSION:
            raise SecretUnreadable(f"unknown sealing {version!r}")
        raw = base64.b64decode(payload)
        nonce, ciphertext = raw[:_NONCE_BYTES], raw[_NONCE_BYTES:]
        for cipher in (self._cipher, *self._previous):
            try:
                plain = cipher.decrypt(nonce, ciphertext, subscription_id.bytes)
            except InvalidTag:
                continue
            return plain.decode(), cipher is self._cipher
        raise SecretUnreadable("no webhook secret key opens this secret")


def signature(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """``v1,<base64 HMAC-SHA256>`` of ``{id}.{timestamp}.{body}`` (Standard Webhooks)."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_bytes(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signatures(live: Sequence[str], message_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` header: one signature per live secret, space-separated."""
    return " ".join(signature(secret, message_id, timestamp, body) for secret in live)
