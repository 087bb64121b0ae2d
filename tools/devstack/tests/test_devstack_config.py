"""Ports and paths from the environment, and where the cluster lives as root (ADR 0005)."""

from pathlib import Path

import pytest

from laborcoop.devstack import config
from laborcoop.devstack.table import SERVICES

ROOT = Path("/repo")


def test_defaults_are_those_of_make_run() -> None:
    stack = config.from_env({}, repo_root=ROOT, as_root=False)
    assert stack.stack_dir == ROOT / ".devstack"
    assert (stack.pg_port, stack.kafka_port, stack.kafka_controller_port) == (55432, 29092, 29093)
    assert (stack.pg_user, stack.pg_password) == ("laborcoop", "laborcoop")
    assert stack.service_ports == {
        "registry": 8101,
        "agreements": 8102,
        "placements": 8103,
        "gateway": 8100,
    }
    assert stack.kafka.pom == ROOT / "deploy/local/kafka/pom.xml"


def test_variables_override_and_empty_ones_fall_back(tmp_path: Path) -> None:
    env = {
        "LABORCOOP_STACK_DIR": str(tmp_path / "a" / ".." / "s"),
        "LABORCOOP_PG_PORT": "57532",
        "LABORCOOP_PG_USER": "",
        "LABORCOOP_KAFKA_PORT": "59492",
        "LABORCOOP_GATEWAY_PORT": "8300",
    }
    stack = config.from_env(env, repo_root=ROOT, as_root=False)
    assert stack.stack_dir == tmp_path / "s"
    assert (stack.pg_port, stack.kafka_port, stack.kafka_controller_port) == (57532, 59492, 29093)
    assert stack.pg_user == "laborcoop"
    assert stack.url(SERVICES[-1]) == "http://127.0.0.1:8300"
    assert stack.dsn("gateway") == "postgresql://laborcoop:laborcoop@127.0.0.1:57532/gateway"
    assert stack.run_dir == tmp_path / "s" / "services"


def test_relative_stack_dir_is_taken_from_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    stack = config.from_env({"LABORCOOP_STACK_DIR": "here"}, repo_root=ROOT, as_root=False)
    assert stack.stack_dir == tmp_path.resolve() / "here"


@pytest.mark.parametrize("value", ["x", "0", "70000", "-1"])
def test_a_port_that_is_not_a_port_is_refused(value: str) -> None:
    with pytest.raises(ValueError, match=f"LABORCOOP_PG_PORT={value!r}"):
        config.from_env({"LABORCOOP_PG_PORT": value}, repo_root=ROOT, as_root=False)


def test_not_root_keeps_the_cluster_in_the_stack_dir() -> None:
    pg = config.pg_paths(Path("/s"), as_root=False)
    assert not pg.as_root
    assert (pg.home, pg.data, pg.log) == (Path("/s"), Path("/s/pgdata"), Path("/s/postgres.log"))
    assert pg.link == pg.data


def test_root_keeps_the_cluster_under_var_tmp_keyed_by_the_stack_dir() -> None:
    pg = config.pg_paths(Path("/root/repo/.devstack"), as_root=True)
    var_tmp = Path("/var/tmp/laborcoop-pg")  # noqa: S108 - ADR 0005
    home = var_tmp / config.stack_hash(Path("/root/repo/.devstack"))
    assert pg.as_root
    assert (pg.home, pg.data, pg.log) == (home, home / "data", home / "postgres.log")
    assert (pg.link, pg.log_link) == (
        Path("/root/repo/.devstack/pgdata"),
        Path("/root/repo/.devstack/postgres.log"),
    )


def test_the_hash_is_that_of_stack_sh() -> None:
    # printf '%s' /root/repo/.devstack | sha256sum | cut -c1-12: clusters stack.sh made stay in use.
    assert config.stack_hash(Path("/root/repo/.devstack")) == "d54ba36b763d"
    assert config.stack_hash(Path("/a")) != config.stack_hash(Path("/b"))
