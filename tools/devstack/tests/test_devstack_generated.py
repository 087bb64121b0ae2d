"""Generated configuration, the service table and the launcher's environment."""

import base64
import re
import tomllib
from pathlib import Path

import pytest

from laborcoop.devstack import cli, config, kafka, launcher, postgres, prereqs
from laborcoop.devstack.table import SERVICES, by_name
from laborcoop.gateway.settings import GatewaySettings

REPO = config.REPO_ROOT


def stack(tmp_path: Path, **env: str) -> config.StackConfig:
    return config.from_env(
        {"LABORCOOP_STACK_DIR": str(tmp_path), **env}, repo_root=REPO, as_root=False
    )


def properties(text: str) -> dict[str, str]:
    lines = [line for line in text.splitlines() if line and not line.startswith("#")]
    return dict(line.split("=", 1) for line in lines)


def test_server_properties_use_the_ports_and_the_data_dir(tmp_path: Path) -> None:
    props = properties(
        kafka.server_properties(
            stack(tmp_path, LABORCOOP_KAFKA_PORT="1", LABORCOOP_KAFKA_CONTROLLER_PORT="2")
        )
    )
    assert props["listeners"] == "PLAINTEXT://127.0.0.1:1,CONTROLLER://127.0.0.1:2"
    assert props["advertised.listeners"] == "PLAINTEXT://127.0.0.1:1"
    assert props["controller.quorum.voters"] == "1@127.0.0.1:2"
    assert props["log.dirs"] == str(tmp_path / "kafka" / "data")
    assert props["process.roles"] == "broker,controller"
    assert props["num.partitions"] == "6"
    assert props["offsets.topic.replication.factor"] == "1"


def test_log4j_writes_warnings_to_kafka_log(tmp_path: Path) -> None:
    text = kafka.log4j_properties(stack(tmp_path).kafka)
    assert f"appender.file.fileName = {tmp_path / 'kafka' / 'kafka.log'}" in text
    assert "rootLogger.level = warn" in text


def test_postgres_listens_on_tcp_localhost_only(tmp_path: Path) -> None:
    conf = postgres.server_conf(stack(tmp_path, LABORCOOP_PG_PORT="57532"))
    assert "listen_addresses = '127.0.0.1'" in conf
    assert "port = 57532" in conf
    assert "unix_socket_directories = ''" in conf
    assert "password_encryption = scram-sha-256" in conf
    assert postgres.HBA.splitlines()[-1] == "host all all 127.0.0.1/32 scram-sha-256"


def test_server_binaries_run_as_postgres_only_as_root() -> None:
    assert postgres.as_pg_command(["initdb"], as_root=False) == ["initdb"]
    assert postgres.as_pg_command(["initdb"], as_root=True) == [
        "runuser",
        "-u",
        "postgres",
        "--",
        "initdb",
    ]


def test_cluster_id_is_a_kafka_uuid() -> None:
    for _ in range(200):
        text = kafka.cluster_id()
        assert re.fullmatch(r"[A-Za-z0-9_-]{22}", text)
        assert not text.startswith("-")
        assert len(base64.urlsafe_b64decode(text + "==")) == 16


def test_pom_digest_changes_with_the_pom(tmp_path: Path) -> None:
    pom = tmp_path / "pom.xml"
    pom.write_text("<a/>")
    first = kafka.pom_digest(pom)
    pom.write_text("<b/>")
    assert kafka.pom_digest(pom) != first


def test_every_service_is_a_console_script_with_that_default_port() -> None:
    scripts = {}
    for pyproject in (REPO / "services").glob("*/pyproject.toml"):
        scripts.update(tomllib.loads(pyproject.read_text())["project"]["scripts"])
    assert {s.script for s in SERVICES} == set(scripts)
    for service in SERVICES:
        cli_source = REPO / f"services/{service.name}/src/laborcoop/{service.name}/cli.py"
        assert f"default_port={service.port}" in cli_source.read_text()
    assert len({s.port for s in SERVICES}) == len(SERVICES)
    assert by_name("gateway").port_variable == "LABORCOOP_GATEWAY_PORT"
    with pytest.raises(KeyError):
        by_name("nope")


def test_seeding_services_come_in_dependency_order() -> None:
    assert [s.name for s in SERVICES if s.seeds] == ["registry", "agreements", "placements"]


def test_services_get_the_stack_and_each_others_urls(tmp_path: Path) -> None:
    env = launcher.service_environment(
        stack(tmp_path, LABORCOOP_REGISTRY_PORT="8301", LABORCOOP_KAFKA_PORT="59492")
    )
    assert env["LABORCOOP_ENVIRONMENT"] == "development"
    assert env["LABORCOOP_KAFKA_BOOTSTRAP"] == "127.0.0.1:59492"
    assert env["LABORCOOP_JWKS_FILE"] == str(tmp_path / "keys" / "jwks.json")
    assert env["LABORCOOP_REGISTRY_URL"] == "http://127.0.0.1:8301"
    assert "LABORCOOP_GATEWAY_URL" not in env
    assert env["LABORCOOP_AGREEMENTS_DATABASE_URL"].endswith("@127.0.0.1:55432/agreements")


def test_the_local_gateway_may_deliver_webhooks_to_this_machine(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in launcher.service_environment(stack(tmp_path)).items():
        monkeypatch.setenv(name, value)
    assert GatewaySettings().webhook_http_hosts == ["127.0.0.1", "localhost"]


def test_seed_once_per_data_directory_unless_always(tmp_path: Path) -> None:
    marker = tmp_path / "seeded"
    assert launcher.needs_seed(marker, {})
    marker.write_text("2024-11-22T00:00:00Z\n")
    assert not launcher.needs_seed(marker, {})
    assert launcher.needs_seed(marker, {"LABORCOOP_SEED": "always"})


def test_closing_message_names_the_gateway_and_the_token(tmp_path: Path) -> None:
    text = launcher.closing_message(stack(tmp_path, LABORCOOP_GATEWAY_PORT="8300"), "TKN")
    assert "Gateway: http://127.0.0.1:8300  (OpenAPI: /docs)" in text
    assert "  export TOKEN=TKN" in text
    assert f"Logs: {tmp_path / 'services'}/<service>.log    Stop: make down" in text
    assert "Demo clients" not in text
    listed = launcher.closing_message(stack(tmp_path), "TKN", "Demo clients (…):\n  430000 id s\n")
    assert "/v1/brands\nDemo clients (…):\n  430000 id s\nLogs:" in listed


def test_a_missing_prerequisite_is_one_line_and_exit_1(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LABORCOOP_STACK_DIR", str(tmp_path))
    bare = prereqs.Lookups(which=lambda _: None, pg_bin_dirs=list)
    monkeypatch.setattr(prereqs, "Lookups", lambda: bare)
    assert cli.main(["stack", "up"]) == 1
    assert capsys.readouterr().err == (
        "missing prerequisite: PostgreSQL server binaries (apt-get install postgresql)\n"
    )
    assert not (tmp_path / "kafka").exists()


def test_status_of_a_stack_never_started(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LABORCOOP_STACK_DIR", str(tmp_path))
    monkeypatch.setenv("LABORCOOP_PG_PORT", "1")
    monkeypatch.setenv("LABORCOOP_KAFKA_PORT", "2")
    assert cli.main(["stack", "status"]) == 0
    assert cli.main(["services", "status"]) == 0
    out = capsys.readouterr().out.splitlines()
    data = config.from_env().pg.data  # the stack dir's own, or under /var/tmp as root
    assert out[0] == f"postgres: stopped (port 1, data {data})"
    assert out[1].startswith("kafka: stopped (port 2,")
    assert out[2:] == [f"services: {s.name} stopped" for s in SERVICES]
