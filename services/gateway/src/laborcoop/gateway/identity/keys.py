"""The gateway's token signing keys: several at once, one of them current.

``LABORCOOP_TOKEN_SIGNING_KEYS`` lists Ed25519 private keys as ``<key id>:<base64 of the 32-byte
private key>``, separated by commas (the shape of the placements service's personal-data keys).
Every key listed is published, by its public half, at ``/.well-known/jwks.json``; only the key
``LABORCOOP_TOKEN_SIGNING_KEY_ID`` names signs new tokens. So a rotation adds the new key first
(published, not signing), makes it current once every verifier has had time to fetch it, and
removes the old one once the last token it signed has expired (docs/operations.md, "Rotating the
token signing key").

Messages of :class:`SigningKeyProblem` name key ids and positions, never key material: they reach
logs and the terminal.
"""

import base64
import binascii
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from laborcoop.common.auth import KeySet, TokenSigner

KEYS_VARIABLE: Final = "LABORCOOP_TOKEN_SIGNING_KEYS"
KEY_ID_VARIABLE: Final = "LABORCOOP_TOKEN_SIGNING_KEY_ID"
DEV_KEY_ID: Final = "dev-1"
"""The key id of the development key ``laborcoop-gateway dev-keys`` writes."""
DEV_KEY_FILE: Final = "signing-key.pem"
"""The development key's file, beside ``LABORCOOP_JWKS_FILE``."""

_KEY_ID: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_KEY_ID_RULE: Final = "1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit"
_PRIVATE_KEY_BYTES: Final = 32


class SigningKeyProblem(ValueError):
    """The signing keys in the settings are missing, malformed or inconsistent."""


@dataclass(frozen=True)
class SigningKeys:
    """The keys by id, and the id of the one that signs (``current``)."""

    signers: Mapping[str, TokenSigner]
    current: str

    @property
    def signer(self) -> TokenSigner:
        return self.signers[self.current]

    def jwks(self) -> dict[str, Any]:
        """The public key set: every key listed, current or not (no private part)."""
        return {"keys": [key for signer in self.signers.values() for key in signer.jwks()["keys"]]}

    def key_set(self) -> KeySet:
        """What verifies the tokens these keys sign (the gateway's own routes use it)."""
        return KeySet(self.jwks(), issuer=self.signer.issuer, audience=self.signer.audience)

    @classmethod
    def parse(
        cls, listed: str, current: str | None, *, issuer: str, audience: str
    ) -> "SigningKeys":
        """The keys ``listed`` (``<kid>:<base64>,…``) with ``current`` signing; it may be left
        out when one key is listed. A new key is never made current implicitly: with several
        keys the one that signs is named, so adding a key publishes it and nothing more."""
        signers: dict[str, TokenSigner] = {}
        for position, entry in enumerate(listed.split(","), start=1):
            kid, key = _entry(entry.strip(), position)
            if kid in signers:
                raise SigningKeyProblem(f"{KEYS_VARIABLE} lists key id {kid} twice")
            signers[kid] = TokenSigner(key, kid, issuer=issuer, audience=audience)
        if current is None:
            if len(signers) > 1:
                raise SigningKeyProblem(
                    f"{KEYS_VARIABLE} lists {len(signers)} keys: set {KEY_ID_VARIABLE} to the "
                    "one that signs"
                )
            current = next(iter(signers))
        if current not in signers:
            raise SigningKeyProblem(
                f"{KEY_ID_VARIABLE} is {current}, which {KEYS_VARIABLE} does not list "
                f"(it lists {', '.join(signers)})"
            )
        return cls(signers, current)

    @classmethod
    def development(cls, pem: bytes, *, issuer: str, audience: str) -> "SigningKeys":
        """The development key of ``laborcoop-gateway dev-keys`` (key id ``dev-1``)."""
        signer = TokenSigner.from_pem(pem, DEV_KEY_ID, issuer=issuer, audience=audience)
        return cls({DEV_KEY_ID: signer}, DEV_KEY_ID)


def _entry(entry: str, position: int) -> tuple[str, Ed25519PrivateKey]:
    kid, separator, encoded = entry.partition(":")
    where = f"{KEYS_VARIABLE}, entry {position}"
    if not separator:
        raise SigningKeyProblem(f"{where}: write it as <key id>:<base64 of the private key>")
    if _KEY_ID.fullmatch(kid) is None:
        raise SigningKeyProblem(f"{where}: a key id is {_KEY_ID_RULE}")
    try:
        raw = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise SigningKeyProblem(f"{where} (key {kid}): not base64") from None
    if len(raw) != _PRIVATE_KEY_BYTES:
        raise SigningKeyProblem(
            f"{where} (key {kid}): an Ed25519 private key is {_PRIVATE_KEY_BYTES} bytes"
        )
    return kid, Ed25519PrivateKey.from_private_bytes(raw)


def new_key_entry(kid: str) -> str:
    """A fresh key as an entry of ``LABORCOOP_TOKEN_SIGNING_KEYS`` (``laborcoop-gateway
    signing-key``)."""
    if _KEY_ID.fullmatch(kid) is None:
        raise SigningKeyProblem(f"a key id is {_KEY_ID_RULE}")
    raw = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.Raw,
        serialization.PrivateFormat.Raw,
        serialization.NoEncryption(),
    )
    return f"{kid}:{base64.b64encode(raw).decode('ascii')}"
