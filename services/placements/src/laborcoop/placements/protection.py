"""Personal data of workers sealed at rest: AES-256-GCM with rotating keys, and a blind index.

A worker's name, ID number, phone and poverty-alleviation flag are stored sealed, never in
clear. :meth:`Keyring.seal` encrypts one value with the current key and a fresh 12-byte random
nonce, and writes ``<key id>:<nonce || ciphertext || tag>`` (URL-safe base64, unpadded), so a
stored value says which key opens it. The caller's ``context`` (e.g. ``f"{worker_id}/name"``) is
the associated data: it is authenticated but not stored, so a value copied to another row or
field no longer opens (:class:`SealBroken`), nor does one sealed by another key under the same
id, nor an altered one. Flags are sealed as ``"true"``/``"false"`` (:func:`seal_flag`).

Keys rotate: ``LABORCOOP_PERSONAL_DATA_KEYS`` lists every key that sealed a stored value,
``LABORCOOP_PERSONAL_DATA_KEY_ID`` names the one that seals new values, and :meth:`Keyring.reseal`
moves a value from an older key to the current one. A value whose key is no longer listed is a
configuration problem (:class:`KeyProblem`), not a broken value.

ID numbers are also kept as a blind index, ``HMAC-SHA256(LABORCOOP_BLIND_INDEX_KEY, id)`` of the
stripped, upper-cased number, which finds a second registration of one person without opening
anything; that key never rotates. At start-up the service proves each configured key is the one
that sealed before: it keeps a *canary* per key (a known constant sealed under it) and checks it
opens (:meth:`Keyring.check_canary`). Nothing here reads or writes anything but its arguments.
"""

import base64
import binascii
import hashlib
import hmac
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Final, Self

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from pydantic import SecretStr

from laborcoop.placements.settings import PlacementsSettings

KEYS_VARIABLE: Final = "LABORCOOP_PERSONAL_DATA_KEYS"
KEY_ID_VARIABLE: Final = "LABORCOOP_PERSONAL_DATA_KEY_ID"
INDEX_KEY_VARIABLE: Final = "LABORCOOP_BLIND_INDEX_KEY"

KEY_BYTES: Final = 32
"""Length of an AES-256 key."""
INDEX_KEY_MIN_BYTES: Final = 32
NONCE_BYTES: Final = 12
TAG_BYTES: Final = 16

CANARY: Final = "laborcoop personal-data canary"
"""The known constant a canary seals; see :meth:`Keyring.canary`."""

_KEY_ID: Final = re.compile(r"[A-Za-z0-9_-]{1,32}")
_SEALED_BODY: Final = re.compile(r"[A-Za-z0-9_-]*")
_KEY_ID_RULE: Final = "1 to 32 of A-Z, a-z, 0-9, '_' and '-'"
_TRUE: Final = "true"
_FALSE: Final = "false"


class KeyProblem(Exception):
    """A configuration problem that must stop the service from serving.

    The message names the setting (and key id) at fault, never any key material."""


class SealBroken(Exception):
    """A sealed value that does not open: wrong key under its id, wrong context, or altered."""


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def _unb64(text: str) -> bytes:
    """Standard base64, strictly (``binascii.Error`` on anything else)."""
    return base64.b64decode(text.strip(), validate=True)


def key_id_of(sealed: str) -> str:
    """The id of the key that sealed ``sealed`` (:class:`SealBroken` if it is no sealed value)."""
    key_id, colon, _ = sealed.partition(":")
    if not colon or _KEY_ID.fullmatch(key_id) is None:
        raise SealBroken("not a sealed value: expected `<key id>:<base64>`")
    return key_id


def _payload(sealed: str) -> bytes:
    """The ``nonce || ciphertext || tag`` of a sealed value."""
    body = sealed.partition(":")[2]
    if _SEALED_BODY.fullmatch(body) is None:
        raise SealBroken("not a sealed value: its body is not URL-safe base64")
    try:
        raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    except binascii.Error as error:
        raise SealBroken("not a sealed value: its body is not URL-safe base64") from error
    if len(raw) < NONCE_BYTES + TAG_BYTES:
        raise SealBroken("not a sealed value: too short")
    return raw


def _parse_entry(number: int, entry: str) -> tuple[str, bytes]:
    """One ``<key id>:<base64>`` entry of the key list (``number`` counts from 1)."""
    key_id, colon, encoded = entry.strip().partition(":")
    where = f"entry {number} of {KEYS_VARIABLE}"
    if not colon:
        raise KeyProblem(f"{where} is not `<key id>:<32 bytes in base64>`")
    if _KEY_ID.fullmatch(key_id) is None:
        raise KeyProblem(f"{where}: a key id is {_KEY_ID_RULE}")
    try:
        key = _unb64(encoded)
    except binascii.Error as error:
        raise KeyProblem(f"key {key_id} in {KEYS_VARIABLE} is not valid base64") from error
    if len(key) != KEY_BYTES:
        raise KeyProblem(
            f"key {key_id} in {KEYS_VARIABLE} is {len(key)} bytes; AES-256 needs {KEY_BYTES}"
        )
    return key_id, key


def _parse_keys(secret: SecretStr | None) -> dict[str, bytes]:
    text = secret.get_secret_value().strip() if secret is not None else ""
    if not text:
        raise KeyProblem(
            f"no personal-data keys: set {KEYS_VARIABLE} to `<key id>:<32 bytes in base64>` "
            "(comma-separated, every key that sealed a stored value)"
        )
    keys: dict[str, bytes] = {}
    for number, entry in enumerate(text.split(","), start=1):
        key_id, key = _parse_entry(number, entry)
        if key_id in keys:
            raise KeyProblem(f"key id {key_id} is listed twice in {KEYS_VARIABLE}")
        keys[key_id] = key
    return keys


def _current(keys: Mapping[str, bytes], key_id: str | None) -> str:
    if not key_id:
        return list(keys)[-1]
    if key_id not in keys:
        raise KeyProblem(
            f"{KEY_ID_VARIABLE} names key {key_id}, which {KEYS_VARIABLE} does not list "
            f"(it lists {', '.join(keys)})"
        )
    return key_id


def _index_key(secret: SecretStr | None, keys: Mapping[str, bytes]) -> bytes:
    text = secret.get_secret_value().strip() if secret is not None else ""
    if not text:
        raise KeyProblem(
            f"no blind-index key: set {INDEX_KEY_VARIABLE} (base64, at least "
            f"{INDEX_KEY_MIN_BYTES} bytes) and keep it with the database's backups"
        )
    try:
        key = _unb64(text)
    except binascii.Error as error:
        raise KeyProblem(f"{INDEX_KEY_VARIABLE} is not valid base64") from error
    if len(key) < INDEX_KEY_MIN_BYTES:
        raise KeyProblem(
            f"{INDEX_KEY_VARIABLE} is {len(key)} bytes; it needs at least {INDEX_KEY_MIN_BYTES}"
        )
    if key in keys.values():
        raise KeyProblem(f"{INDEX_KEY_VARIABLE} must differ from every key in {KEYS_VARIABLE}")
    return key


@dataclass(frozen=True)
class Keyring:
    """The personal-data keys by id, the one sealing new values, and the blind-index key.

    Its ``repr`` shows the key ids, never the keys."""

    keys: Mapping[str, bytes] = field(repr=False)
    current: str
    index_key: bytes = field(repr=False)
    _ciphers: Mapping[str, AESGCM] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if any(len(key) != KEY_BYTES for key in self.keys.values()):
            raise ValueError(f"every personal-data key must be {KEY_BYTES} bytes")
        if self.current not in self.keys:
            raise ValueError(f"the current key {self.current} is not in the keyring")
        if len(self.index_key) < INDEX_KEY_MIN_BYTES:
            raise ValueError(f"the blind-index key needs at least {INDEX_KEY_MIN_BYTES} bytes")
        keys = MappingProxyType(dict(self.keys))
        object.__setattr__(self, "keys", keys)
        object.__setattr__(
            self, "_ciphers", MappingProxyType({kid: AESGCM(key) for kid, key in keys.items()})
        )

    def __repr__(self) -> str:
        return f"Keyring(current={self.current!r}, key_ids={tuple(self.keys)!r})"

    @classmethod
    def from_settings(cls, settings: PlacementsSettings) -> Self:
        """The keyring the settings describe; :class:`KeyProblem` names what is missing or
        malformed."""
        keys = _parse_keys(settings.personal_data_keys)
        current = _current(keys, settings.personal_data_key_id)
        return cls(keys=keys, current=current, index_key=_index_key(settings.blind_index_key, keys))

    @classmethod
    def generate(cls, key_id: str = "k1") -> Self:
        """A keyring of one random key (and a random index key): for tests and the dev stack."""
        if _KEY_ID.fullmatch(key_id) is None:
            raise ValueError(f"a key id is {_KEY_ID_RULE}")
        return cls(
            keys={key_id: AESGCM.generate_key(bit_length=256)},
            current=key_id,
            index_key=os.urandom(INDEX_KEY_MIN_BYTES),
        )

    def render_settings(self) -> dict[str, str]:
        """The environment variables that describe this keyring to :meth:`from_settings`."""
        return {
            KEYS_VARIABLE: ",".join(f"{kid}:{_b64(key)}" for kid, key in self.keys.items()),
            KEY_ID_VARIABLE: self.current,
            INDEX_KEY_VARIABLE: _b64(self.index_key),
        }

    def _cipher(self, key_id: str) -> AESGCM:
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            raise KeyProblem(
                f"key {key_id} sealed this value but {KEYS_VARIABLE} does not list it "
                f"(it lists {', '.join(self.keys)})"
            )
        return cipher

    def _seal_with(self, key_id: str, plaintext: str, context: str) -> str:
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._cipher(key_id).encrypt(nonce, plaintext.encode(), context.encode())
        body = base64.urlsafe_b64encode(nonce + sealed).rstrip(b"=").decode("ascii")
        return f"{key_id}:{body}"

    def seal(self, plaintext: str, *, context: str) -> str:
        """``plaintext`` sealed under the current key, bound to ``context``."""
        return self._seal_with(self.current, plaintext, context)

    def open(self, sealed: str, *, context: str) -> str:
        """The plaintext of ``sealed``, sealed with ``context`` under a key of this ring.

        :class:`KeyProblem` when its key is not in the ring; :class:`SealBroken` when it does not
        open (wrong key under that id, wrong context, altered)."""
        key_id = key_id_of(sealed)
        cipher = self._cipher(key_id)
        raw = _payload(sealed)
        try:
            plaintext = cipher.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], context.encode())
        except InvalidTag as error:
            raise SealBroken(
                f"a value sealed under key {key_id} does not open in context {context!r}: "
                "a wrong key, a wrong context or an altered value"
            ) from error
        return plaintext.decode()

    def reseal(self, sealed: str, *, context: str) -> str:
        """``sealed`` under the current key (unchanged when it already is)."""
        if key_id_of(sealed) == self.current:
            return sealed
        return self.seal(self.open(sealed, context=context), context=context)

    def blind_index(self, resident_id: str) -> bytes:
        """HMAC-SHA256 of the ID number, stripped and upper-cased (32 bytes)."""
        normalised = resident_id.strip().upper().encode()
        return hmac.new(self.index_key, normalised, hashlib.sha256).digest()

    def canary(self, key_id: str) -> str:
        """:data:`CANARY` sealed under key ``key_id`` (current or not), to be kept and checked
        with :meth:`check_canary` at each start-up."""
        return self._seal_with(key_id, CANARY, _canary_context(key_id))

    def check_canary(self, key_id: str, sealed: str) -> None:
        """:class:`KeyProblem` unless ``sealed`` is the canary of key ``key_id`` and this ring's
        key of that id opens it."""
        if not sealed.startswith(f"{key_id}:"):
            raise KeyProblem(f"the canary of key {key_id} is not sealed under it")
        try:
            opened = self.open(sealed, context=_canary_context(key_id))
        except SealBroken as error:
            raise _wrong_key(key_id) from error
        if opened != CANARY:
            raise _wrong_key(key_id)


def _canary_context(key_id: str) -> str:
    return f"laborcoop/canary/{key_id}"


def _wrong_key(key_id: str) -> KeyProblem:
    return KeyProblem(
        f"key {key_id} in {KEYS_VARIABLE} does not open the values sealed with it: a wrong key"
    )


def seal_flag(ring: Keyring, value: bool, *, context: str) -> str:
    """A boolean sealed as ``"true"`` or ``"false"``."""
    return ring.seal(_TRUE if value else _FALSE, context=context)


def open_flag(ring: Keyring, sealed: str, *, context: str) -> bool:
    """A boolean sealed by :func:`seal_flag` (``ValueError`` if it opens to anything else)."""
    plaintext = ring.open(sealed, context=context)
    if plaintext not in (_TRUE, _FALSE):
        raise ValueError(f"the value sealed in context {context!r} is not a flag")
    return plaintext == _TRUE
