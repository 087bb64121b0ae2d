"""Ports and paths of a stack, from the environment: the same LABORCOOP_* variables as always."""

import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from laborcoop.devstack.table import SERVICES, Service

HOST = "127.0.0.1"
# tools/devstack/src/laborcoop/devstack/config.py: the package is installed editable from the clone.
REPO_ROOT = Path(__file__).resolve().parents[5]
PG_HOME_ROOT = Path("/var/tmp/laborcoop-pg")  # noqa: S108 - ADR 0005


@dataclass(frozen=True)
class PgPaths:
    """Where the cluster lives. PostgreSQL refuses to run as root, and a clone under /root is not
    traversable by `postgres`: as root the cluster lives under /var/tmp, keyed by a hash of the
    stack dir, and <stack dir>/pgdata and postgres.log are symlinks to it (ADR 0005)."""

    as_root: bool
    home: Path
    data: Path
    log: Path
    link: Path
    log_link: Path


@dataclass(frozen=True)
class KafkaPaths:
    dir: Path
    libs: Path
    data: Path
    config: Path
    log4j: Path
    cluster_id: Path
    pid: Path
    stdout: Path
    log: Path
    pom: Path

    @property
    def libs_marker(self) -> Path:
        return self.libs / ".pom.sha256"


@dataclass(frozen=True)
class StackConfig:
    stack_dir: Path
    pg_port: int
    pg_user: str
    pg_password: str
    kafka_port: int
    kafka_controller_port: int
    service_ports: Mapping[str, int]
    pg: PgPaths
    kafka: KafkaPaths

    @property
    def run_dir(self) -> Path:
        """Logs, pid files and the seed marker of the services."""
        return self.stack_dir / "services"

    @property
    def kafka_bootstrap(self) -> str:
        return f"{HOST}:{self.kafka_port}"

    def port(self, service: Service) -> int:
        return self.service_ports[service.name]

    def url(self, service: Service) -> str:
        return f"http://{HOST}:{self.port(service)}"

    def dsn(self, database: str) -> str:
        return f"postgresql://{self.pg_user}:{self.pg_password}@{HOST}:{self.pg_port}/{database}"


def stack_hash(stack_dir: Path) -> str:
    """The first 12 hex digits of sha256(stack dir), naming its cluster under /var/tmp."""
    return hashlib.sha256(str(stack_dir).encode()).hexdigest()[:12]


def pg_paths(stack_dir: Path, *, as_root: bool) -> PgPaths:
    link, log_link = stack_dir / "pgdata", stack_dir / "postgres.log"
    if not as_root:
        return PgPaths(False, stack_dir, link, log_link, link, log_link)
    home = PG_HOME_ROOT / stack_hash(stack_dir)
    return PgPaths(True, home, home / "data", home / "postgres.log", link, log_link)


def kafka_paths(stack_dir: Path, repo_root: Path) -> KafkaPaths:
    kafka = stack_dir / "kafka"
    return KafkaPaths(
        dir=kafka,
        libs=kafka / "libs",
        data=kafka / "data",
        config=kafka / "server.properties",
        log4j=kafka / "log4j2.properties",
        cluster_id=kafka / "cluster.id",
        pid=kafka / "kafka.pid",
        stdout=kafka / "stdout.log",
        log=kafka / "kafka.log",
        pom=repo_root / "deploy/local/kafka/pom.xml",
    )


def _port(env: Mapping[str, str], name: str, default: int) -> int:
    value = env.get(name) or str(default)
    if not value.isdigit() or not 0 < int(value) < 65536:
        raise ValueError(f"{name}={value!r} is not a TCP port")
    return int(value)


def from_env(
    env: Mapping[str, str] = os.environ,
    *,
    repo_root: Path = REPO_ROOT,
    as_root: bool | None = None,
) -> StackConfig:
    """The stack that `env` names; relative stack dirs are taken from the working directory."""
    stack_dir = Path(os.path.realpath(env.get("LABORCOOP_STACK_DIR") or repo_root / ".devstack"))
    root = os.geteuid() == 0 if as_root is None else as_root
    return StackConfig(
        stack_dir=stack_dir,
        pg_port=_port(env, "LABORCOOP_PG_PORT", 55432),
        pg_user=env.get("LABORCOOP_PG_USER") or "laborcoop",
        pg_password=env.get("LABORCOOP_PG_PASSWORD") or "laborcoop",
        kafka_port=_port(env, "LABORCOOP_KAFKA_PORT", 29092),
        kafka_controller_port=_port(env, "LABORCOOP_KAFKA_CONTROLLER_PORT", 29093),
        service_ports={s.name: _port(env, s.port_variable, s.port) for s in SERVICES},
        pg=pg_paths(stack_dir, as_root=root),
        kafka=kafka_paths(stack_dir, repo_root),
    )
