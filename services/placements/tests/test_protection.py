"""Sealing personal data at rest, with no I/O: round trips, bound contexts, rotation, the blind
index, the canaries and every malformed key setting."""

import base64
import os

import pytest
from pydantic import SecretStr

from laborcoop.placements.protection import (
    CANARY,
    KeyProblem,
    Keyring,
    SealBroken,
    key_id_of,
    open_flag,
    seal_flag,
)
from laborcoop.placements.settings import PlacementsSettings

ID_NUMBER = "11010519491231002X"
CONTEXT = "7f0c4c1e-0000-4000-8000-000000000001/name"


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def settings(
    keys: str | None, key_id: str | None = None, index_key: str | None = None
) -> PlacementsSettings:
    return PlacementsSettings(
        personal_data_keys=SecretStr(keys) if keys is not None else None,
        personal_data_key_id=key_id,
        blind_index_key=SecretStr(index_key) if index_key is not None else None,
    )


def from_environment(values: dict[str, str]) -> PlacementsSettings:
    return settings(
        values["LABORCOOP_PERSONAL_DATA_KEYS"],
        values["LABORCOOP_PERSONAL_DATA_KEY_ID"],
        values["LABORCOOP_BLIND_INDEX_KEY"],
    )


KEY_1, KEY_2, INDEX_KEY = os.urandom(32), os.urandom(32), os.urandom(32)


def two_keys(current: str = "k2") -> Keyring:
    return Keyring(keys={"k1": KEY_1, "k2": KEY_2}, current=current, index_key=INDEX_KEY)


def altered(sealed: str, position: int) -> str:
    """``sealed`` with one byte of its payload flipped."""
    key_id, _, body = sealed.partition(":")
    raw = bytearray(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    raw[position] ^= 0x01
    return f"{key_id}:{base64.urlsafe_b64encode(bytes(raw)).rstrip(b'=').decode()}"


def test_a_sealed_value_opens_to_itself_in_its_context() -> None:
    ring = Keyring.generate()
    for text in ("张三", ID_NUMBER, "+86 138 0013 8000", ""):
        sealed = ring.seal(text, context=CONTEXT)
        assert key_id_of(sealed) == "k1"
        assert ring.open(sealed, context=CONTEXT) == text


def test_a_sealed_value_is_key_id_and_unpadded_urlsafe_base64() -> None:
    sealed = Keyring.generate("key_2025-01").seal("张三", context=CONTEXT)
    key_id, _, body = sealed.partition(":")
    assert key_id == "key_2025-01"
    assert "=" not in body
    raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    assert len(raw) == 12 + len("张三".encode()) + 16


def test_sealing_one_value_twice_gives_two_different_texts() -> None:
    ring = Keyring.generate()
    first, second = (ring.seal("张三", context=CONTEXT) for _ in range(2))
    assert first != second
    assert ring.open(first, context=CONTEXT) == ring.open(second, context=CONTEXT)


def test_a_value_moved_to_another_row_or_field_does_not_open() -> None:
    ring = Keyring.generate()
    sealed = ring.seal("张三", context="worker-1/name")
    for other in ("worker-2/name", "worker-1/phone", ""):
        with pytest.raises(SealBroken, match="k1"):
            ring.open(sealed, context=other)


@pytest.mark.parametrize("position", [0, 11, 12, -1])
def test_an_altered_byte_breaks_the_seal(position: int) -> None:
    ring = Keyring.generate()
    sealed = ring.seal("张三", context=CONTEXT)
    with pytest.raises(SealBroken):
        ring.open(altered(sealed, position), context=CONTEXT)


@pytest.mark.parametrize(
    "garbled", ["", "k1", "no colon here", "k1:", "k1:AAAA", "k1:not+base64/", "bad id!:AAAA"]
)
def test_text_that_is_no_sealed_value_is_refused(garbled: str) -> None:
    with pytest.raises(SealBroken, match="not a sealed value"):
        Keyring.generate().open(garbled, context=CONTEXT)


def test_another_key_under_the_same_id_breaks_the_seal() -> None:
    sealed = Keyring.generate("k1").seal("张三", context=CONTEXT)
    with pytest.raises(SealBroken):
        Keyring.generate("k1").open(sealed, context=CONTEXT)


def test_a_value_under_a_key_the_ring_lacks_is_a_key_problem_naming_it() -> None:
    sealed = Keyring.generate("k9").seal("张三", context=CONTEXT)
    with pytest.raises(KeyProblem, match=r"key k9 .*LABORCOOP_PERSONAL_DATA_KEYS"):
        two_keys().open(sealed, context=CONTEXT)


def test_a_rotated_ring_opens_old_values_and_reseals_them_under_the_current_key() -> None:
    old = two_keys(current="k1").seal("张三", context=CONTEXT)
    ring = two_keys(current="k2")
    assert key_id_of(old) == "k1"
    assert ring.open(old, context=CONTEXT) == "张三"
    moved = ring.reseal(old, context=CONTEXT)
    assert key_id_of(moved) == "k2"
    assert ring.open(moved, context=CONTEXT) == "张三"
    assert ring.reseal(moved, context=CONTEXT) == moved
    assert key_id_of(ring.seal("李四", context=CONTEXT)) == "k2"


def test_resealing_checks_the_context() -> None:
    old = two_keys(current="k1").seal("张三", context=CONTEXT)
    with pytest.raises(SealBroken):
        two_keys(current="k2").reseal(old, context="worker-2/name")


@pytest.mark.parametrize("value", [True, False])
def test_a_flag_round_trips(value: bool) -> None:
    ring = Keyring.generate()
    sealed = seal_flag(ring, value, context="w/poverty_alleviation")
    assert ring.open(sealed, context="w/poverty_alleviation") == ("true" if value else "false")
    assert open_flag(ring, sealed, context="w/poverty_alleviation") is value


def test_a_sealed_value_that_is_no_flag_is_refused() -> None:
    ring = Keyring.generate()
    with pytest.raises(ValueError, match="not a flag"):
        open_flag(ring, ring.seal("yes", context="w/flag"), context="w/flag")


def test_the_blind_index_ignores_case_and_surrounding_space() -> None:
    ring = two_keys()
    index = ring.blind_index("11010519491231002X")
    assert len(index) == 32
    assert ring.blind_index("11010519491231002x") == index
    assert ring.blind_index("  11010519491231002x\n") == index
    assert ring.blind_index("110105194912310037") != index


def test_the_blind_index_depends_on_the_index_key_only() -> None:
    ring = two_keys()
    rotated = two_keys(current="k1")
    other = Keyring(keys={"k1": KEY_1, "k2": KEY_2}, current="k2", index_key=os.urandom(32))
    assert rotated.blind_index(ID_NUMBER) == ring.blind_index(ID_NUMBER)
    assert other.blind_index(ID_NUMBER) != ring.blind_index(ID_NUMBER)


def test_the_rendered_settings_describe_the_same_ring() -> None:
    ring = two_keys(current="k1")
    rendered = ring.render_settings()
    assert set(rendered) == {
        "LABORCOOP_PERSONAL_DATA_KEYS",
        "LABORCOOP_PERSONAL_DATA_KEY_ID",
        "LABORCOOP_BLIND_INDEX_KEY",
    }
    assert rendered["LABORCOOP_PERSONAL_DATA_KEY_ID"] == "k1"
    assert Keyring.from_settings(from_environment(rendered)) == ring
    generated = Keyring.generate("dev")
    assert Keyring.from_settings(from_environment(generated.render_settings())) == generated


def test_the_current_key_defaults_to_the_last_listed() -> None:
    listed = f"k1:{b64(KEY_1)}, k2:{b64(KEY_2)}"
    ring = Keyring.from_settings(settings(listed, None, b64(INDEX_KEY)))
    assert ring == two_keys(current="k2")
    assert Keyring.from_settings(settings(listed, "", b64(INDEX_KEY))).current == "k2"
    assert Keyring.from_settings(settings(listed, "k1", b64(INDEX_KEY))).current == "k1"


def test_a_longer_index_key_is_taken() -> None:
    ring = Keyring.from_settings(settings(f"k1:{b64(KEY_1)}", None, b64(os.urandom(64))))
    assert len(ring.index_key) == 64


GOOD_KEYS = f"k1:{b64(KEY_1)},k2:{b64(KEY_2)}"
GOOD_INDEX = b64(INDEX_KEY)


@pytest.mark.parametrize(
    ("keys", "key_id", "index_key", "message"),
    [
        (None, None, GOOD_INDEX, "no personal-data keys: set LABORCOOP_PERSONAL_DATA_KEYS"),
        ("  ", None, GOOD_INDEX, "no personal-data keys: set LABORCOOP_PERSONAL_DATA_KEYS"),
        (GOOD_KEYS, None, None, "no blind-index key: set LABORCOOP_BLIND_INDEX_KEY"),
        (GOOD_KEYS, None, "", "no blind-index key: set LABORCOOP_BLIND_INDEX_KEY"),
        (
            b64(KEY_1),
            None,
            GOOD_INDEX,
            "entry 1 of LABORCOOP_PERSONAL_DATA_KEYS is not `<key id>:<32 bytes in base64>`",
        ),
        (
            f"k1:{b64(KEY_1)},",
            None,
            GOOD_INDEX,
            "entry 2 of LABORCOOP_PERSONAL_DATA_KEYS is not `<key id>:<32 bytes in base64>`",
        ),
        (
            f"k1:{b64(KEY_1)},bad id:{b64(KEY_2)}",
            None,
            GOOD_INDEX,
            "entry 2 of LABORCOOP_PERSONAL_DATA_KEYS: a key id is 1 to 32 of",
        ),
        (
            f"{'k' * 33}:{b64(KEY_1)}",
            None,
            GOOD_INDEX,
            "entry 1 of LABORCOOP_PERSONAL_DATA_KEYS: a key id is 1 to 32 of",
        ),
        (
            "k1:not base64!",
            None,
            GOOD_INDEX,
            "key k1 in LABORCOOP_PERSONAL_DATA_KEYS is not valid base64",
        ),
        (
            f"k1:{b64(os.urandom(16))}",
            None,
            GOOD_INDEX,
            "key k1 in LABORCOOP_PERSONAL_DATA_KEYS is 16 bytes; AES-256 needs 32",
        ),
        (
            f"k1:{b64(KEY_1)},k1:{b64(KEY_2)}",
            None,
            GOOD_INDEX,
            "key id k1 is listed twice in LABORCOOP_PERSONAL_DATA_KEYS",
        ),
        (
            GOOD_KEYS,
            "k3",
            GOOD_INDEX,
            "LABORCOOP_PERSONAL_DATA_KEY_ID names key k3, which LABORCOOP_PERSONAL_DATA_KEYS "
            "does not list (it lists k1, k2)",
        ),
        (GOOD_KEYS, None, "not base64!", "LABORCOOP_BLIND_INDEX_KEY is not valid base64"),
        (
            GOOD_KEYS,
            None,
            b64(os.urandom(16)),
            "LABORCOOP_BLIND_INDEX_KEY is 16 bytes; it needs at least 32",
        ),
        (
            GOOD_KEYS,
            None,
            b64(KEY_2),
            "LABORCOOP_BLIND_INDEX_KEY must differ from every key in LABORCOOP_PERSONAL_DATA_KEYS",
        ),
    ],
)
def test_malformed_key_settings_are_a_key_problem_naming_the_setting(
    keys: str | None, key_id: str | None, index_key: str | None, message: str
) -> None:
    with pytest.raises(KeyProblem) as raised:
        Keyring.from_settings(settings(keys, key_id, index_key))
    assert str(raised.value).startswith(message)
    for secret in (KEY_1, KEY_2, INDEX_KEY):
        assert b64(secret) not in str(raised.value)


def test_the_canary_of_each_key_proves_it_opens_what_it_sealed() -> None:
    ring = two_keys(current="k2")
    canaries = {key_id: ring.canary(key_id) for key_id in ("k1", "k2")}
    assert {key_id_of(sealed) for sealed in canaries.values()} == {"k1", "k2"}
    assert ring.open(canaries["k1"], context="laborcoop/canary/k1") == CANARY
    rotated = two_keys(current="k1")
    for key_id, sealed in canaries.items():
        ring.check_canary(key_id, sealed)
        rotated.check_canary(key_id, sealed)


def test_a_different_key_under_the_same_id_fails_its_canary() -> None:
    sealed = two_keys().canary("k1")
    replaced = Keyring(keys={"k1": os.urandom(32), "k2": KEY_2}, current="k2", index_key=INDEX_KEY)
    with pytest.raises(KeyProblem) as raised:
        replaced.check_canary("k1", sealed)
    assert str(raised.value) == (
        "key k1 in LABORCOOP_PERSONAL_DATA_KEYS does not open the values sealed with it: "
        "a wrong key"
    )


def test_a_canary_checks_only_the_key_it_was_sealed_under() -> None:
    ring = two_keys()
    with pytest.raises(KeyProblem, match="canary of key k1 is not sealed under it"):
        ring.check_canary("k1", ring.canary("k2"))
    with pytest.raises(KeyProblem, match="a wrong key"):
        ring.check_canary("k1", two_keys("k1").seal(CANARY, context="laborcoop/canary/k2"))
    with pytest.raises(KeyProblem, match="a wrong key"):
        ring.check_canary("k2", ring.seal("something else", context="laborcoop/canary/k2"))


def test_a_canary_needs_a_key_of_the_ring() -> None:
    with pytest.raises(KeyProblem, match="k9"):
        two_keys().canary("k9")


def test_the_repr_shows_key_ids_but_no_key_material() -> None:
    ring = two_keys()
    text = repr(ring)
    assert text == "Keyring(current='k2', key_ids=('k1', 'k2'))"
    for secret in (KEY_1, KEY_2, INDEX_KEY):
        assert b64(secret) not in text
        assert repr(secret) not in text
        assert secret.hex() not in text


def test_the_keyring_keeps_its_own_copy_of_the_keys() -> None:
    keys = {"k1": KEY_1}
    ring = Keyring(keys=keys, current="k1", index_key=INDEX_KEY)
    sealed = ring.seal("张三", context=CONTEXT)
    keys["k1"] = KEY_2
    assert ring.keys["k1"] == KEY_1
    assert ring.open(sealed, context=CONTEXT) == "张三"
    with pytest.raises(TypeError):
        ring.keys["k1"] = KEY_2  # type: ignore[index]


@pytest.mark.parametrize(
    ("keys", "current", "index_key"),
    [
        ({"k1": os.urandom(16)}, "k1", INDEX_KEY),
        ({"k1": KEY_1}, "k2", INDEX_KEY),
        ({"k1": KEY_1}, "k1", os.urandom(16)),
    ],
)
def test_a_keyring_is_refused_inconsistent(
    keys: dict[str, bytes], current: str, index_key: bytes
) -> None:
    with pytest.raises(ValueError, match="key"):
        Keyring(keys=keys, current=current, index_key=index_key)


def test_a_generated_key_id_follows_the_rule() -> None:
    with pytest.raises(ValueError, match="1 to 32"):
        Keyring.generate("bad id")
