"""The placements service's personal-data keys of a local stack: made once per data directory,
private, the same at every start, handed to the placements processes only, and overridden by
variables already set."""

import base64
import stat
from pathlib import Path

import pytest

from laborcoop.devstack import config, launcher, personal_keys
from laborcoop.devstack.procs import Failed
from laborcoop.devstack.table import SERVICES, by_name

KEYS, KEY_ID, INDEX_KEY = personal_keys.VARIABLES


def test_new_keys_have_the_services_format() -> None:
    keys = personal_keys.generate()
    key_id, _, key = keys[KEYS].partition(":")
    assert key_id == keys[KEY_ID] == "k1"
    assert len(base64.b64decode(key, validate=True)) == 32
    assert len(base64.b64decode(keys[INDEX_KEY], validate=True)) == 32
    assert keys[INDEX_KEY] != key
    assert personal_keys.generate() != keys  # random, not derived


def test_the_first_use_writes_a_private_file_and_later_ones_read_it(tmp_path: Path) -> None:
    path = tmp_path / "services" / "placements-keys.env"
    first, created = personal_keys.ensure(path)
    assert created
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert personal_keys.parse(path.read_text()) == first
    assert path.read_text().startswith("# ")  # says what it is
    text = path.read_text()

    again, created = personal_keys.ensure(path)

    assert (again, created) == (first, False)
    assert path.read_text() == text
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary file left


def test_a_key_file_others_may_read_is_made_private(tmp_path: Path) -> None:
    path = tmp_path / "placements-keys.env"
    personal_keys.ensure(path)
    path.chmod(0o644)
    personal_keys.read(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_key_file_without_a_key_is_refused_not_replaced(tmp_path: Path) -> None:
    path = tmp_path / "placements-keys.env"
    path.write_text(f"{KEYS}=k1:abc\n{KEY_ID}=k1\n")
    with pytest.raises(Failed, match=f"{path} does not set {INDEX_KEY}"):
        personal_keys.ensure(path)
    assert path.read_text() == f"{KEYS}=k1:abc\n{KEY_ID}=k1\n"


def test_variables_already_set_win_and_empty_ones_do_not() -> None:
    keys = {KEYS: "k1:file", KEY_ID: "k1", INDEX_KEY: "index-of-file"}
    env = personal_keys.environment(keys, {KEYS: "k2:mine", INDEX_KEY: "", "PATH": "/bin"})
    assert env == {KEYS: "k2:mine", KEY_ID: "k1", INDEX_KEY: "index-of-file", "PATH": "/bin"}


def test_only_the_placements_processes_get_the_keys_of_the_stack(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stack = config.from_env(
        {"LABORCOOP_STACK_DIR": str(tmp_path)}, repo_root=config.REPO_ROOT, as_root=False
    )
    start = launcher.Launcher(stack, {"PATH": "/bin"})
    assert [s.name for s in SERVICES if s.personal_data_keys] == ["placements"]

    placements = start.env_for(by_name("placements"))

    path = tmp_path / "services" / "placements-keys.env"
    assert start.keys_file(by_name("placements")) == path
    assert {name: placements[name] for name in personal_keys.VARIABLES} == personal_keys.read(path)
    assert placements["LABORCOOP_ENVIRONMENT"] == "development"
    assert f"personal-data keys generated in {path}" in capsys.readouterr().out
    for other in ("registry", "agreements", "gateway"):
        assert not set(personal_keys.VARIABLES) & set(start.env_for(by_name(other)))
    restarted = launcher.Launcher(stack, {"PATH": "/bin"})  # the next `make run`
    assert restarted.env_for(by_name("placements")) == placements
    assert "generated" not in capsys.readouterr().out
    own = launcher.Launcher(stack, {"PATH": "/bin", KEYS: "k9:own", KEY_ID: "k9"})
    assert own.env_for(by_name("placements"))[KEYS] == "k9:own"


def test_the_service_accepts_the_keys_it_is_given() -> None:
    """Checked against the service's own reading (the devstack itself never imports it)."""
    from laborcoop.placements.protection import Keyring  # noqa: PLC0415
    from laborcoop.placements.settings import PlacementsSettings  # noqa: PLC0415

    keys = personal_keys.generate()
    fields = {name.removeprefix("LABORCOOP_").lower(): value for name, value in keys.items()}
    settings = PlacementsSettings.model_validate({"database_url": "postgresql://x/y", **fields})
    ring = Keyring.from_settings(settings)
    assert ring.current == "k1"
    assert ring.render_settings() == keys
