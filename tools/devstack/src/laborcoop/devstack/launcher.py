"""The four services as local processes: migrate, serve, wait until ready, seed once, stop.

Logs and pid files live in <stack dir>/services/, and so do the placements service's
personal-data keys (placements-keys.env, made on the first start: ``personal_keys``). The demo
data is loaded once per data directory (the marker services/seeded); LABORCOOP_SEED=always loads
it again, `seed` loads it alone. A seed only adds what is missing, so seeding again never undoes
a change made through the API.
"""

import asyncio
import os
import subprocess
import sys
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path

from laborcoop.devstack import personal_keys
from laborcoop.devstack.config import StackConfig
from laborcoop.devstack.procs import Failed, read_pid, terminate
from laborcoop.devstack.table import SERVICES, Service, by_name

# The services' console scripts beside this interpreter: the same locked environment as
# `uv run --frozen`, without a uv process per command.
BIN_DIR = Path(sys.executable).parent


def say(message: str) -> None:
    print(f"services: {message}", flush=True)


def service_environment(config: StackConfig) -> dict[str, str]:
    """What the services read: development mode, the stack's coordinates, each other's URLs,
    and webhooks to a receiver on this machine over plain http (a partner's developer trying
    them; every other target must be https to a public address)."""
    env = {
        "LABORCOOP_ENVIRONMENT": "development",
        "LABORCOOP_KAFKA_BOOTSTRAP": config.kafka_bootstrap,
        "LABORCOOP_JWKS_FILE": str(config.stack_dir / "keys" / "jwks.json"),
        "LABORCOOP_WEBHOOK_HTTP_HOSTS": '["127.0.0.1", "localhost"]',
    }
    for service in SERVICES:
        upper = service.name.upper()
        env[f"LABORCOOP_{upper}_DATABASE_URL"] = config.dsn(service.database)
        if service.name != "gateway":  # the gateway forwards to the others
            env[f"LABORCOOP_{upper}_URL"] = config.url(service)
    return env


def closing_message(config: StackConfig, token: str, demo_clients: str = "") -> str:
    gateway = config.url(next(s for s in SERVICES if s.name == "gateway"))
    clients = f"\n{demo_clients.strip()}" if demo_clients.strip() else ""
    return f"""
laborcoop is running. Gateway: {gateway}  (OpenAPI: /docs)
A development token for Hunan's provincial system (more: make token PROVINCE=310000 ROLES=province):
  export TOKEN={token}
Try:  curl -H "Authorization: Bearer $TOKEN" {gateway}/v1/brands{clients}
Logs: {config.run_dir}/<service>.log    Stop: make down"""


def needs_seed(marker: Path, env: Mapping[str, str]) -> bool:
    return not marker.is_file() or env.get("LABORCOOP_SEED") == "always"


async def ready(url: str, alive: Callable[[], bool], timeout_s: float = 60) -> bool:
    """True once GET /readyz answers 200; False after `timeout_s` or once the process exited."""
    import httpx  # noqa: PLC0415 - only `start` needs it, and it is slow to import

    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    async with httpx.AsyncClient(timeout=2) as client:
        while loop.time() < deadline:
            try:
                if (await client.get(f"{url}/readyz")).status_code == 200:
                    return True
            except httpx.HTTPError:
                pass
            if not alive():
                return False
            await asyncio.sleep(0.2)
    return False


class Launcher:
    def __init__(self, config: StackConfig, env: Mapping[str, str] = os.environ) -> None:
        self.config = config
        self.run_dir = config.run_dir
        self.env = {**env, **service_environment(config)}
        self.marker = self.run_dir / "seeded"

    def log(self, service: Service) -> Path:
        return self.run_dir / f"{service.name}.log"

    def pid_file(self, service: Service) -> Path:
        return self.run_dir / f"{service.name}.pid"

    def keys_file(self, service: Service) -> Path:
        return self.run_dir / f"{service.name}-keys.env"

    def env_for(self, service: Service) -> dict[str, str]:
        """What ``service``'s processes get: :attr:`env`, and for a service of personal data its
        keys, from the variables when set, else from this stack's keys file (made on first use)."""
        if not service.personal_data_keys:
            return self.env
        path = self.keys_file(service)
        keys, created = personal_keys.ensure(path)
        if created:
            say(f"{service.name}: personal-data keys generated in {path} (keep it with the data)")
        return personal_keys.environment(keys, self.env)

    def _command(self, service_name: str, *args: str) -> list[str]:
        return [str(BIN_DIR / f"laborcoop-{service_name}"), *args]

    def _run(
        self,
        command: list[str],
        log: Path,
        *,
        env: Mapping[str, str] | None = None,
        stdout_to_log: bool = True,
    ) -> bool:
        with log.open("a") as out:
            done = subprocess.run(  # noqa: S603 - our own console scripts
                command,
                env=self.env if env is None else env,
                stdout=out if stdout_to_log else None,
                stderr=out,
                check=False,
            )
        return done.returncode == 0

    def _spawn(self, service: Service) -> subprocess.Popen[bytes]:
        env = self.env_for(service)
        if not self._run(self._command(service.name, "migrate"), self.log(service), env=env):
            raise Failed(f"migrating {service.name} failed; see {self.log(service)}")
        port = str(self.config.port(service))
        with self.log(service).open("a") as out:
            process = subprocess.Popen(  # noqa: S603 - its own session: it outlives this command
                self._command(service.name, "serve", "--port", port), env=env,
                stdin=subprocess.DEVNULL, stdout=out, stderr=out, start_new_session=True,
            )  # fmt: skip
        self.pid_file(service).write_text(f"{process.pid}\n")
        return process

    async def _wait_all(self, started: Mapping[str, subprocess.Popen[bytes]]) -> None:
        def alive(service: Service) -> Callable[[], bool]:
            process = started.get(service.name)
            if process is not None:
                return lambda: process.poll() is None
            return lambda: read_pid(self.pid_file(service)) is not None

        checks = [ready(self.config.url(s), alive(s)) for s in SERVICES]
        for service, ok in zip(SERVICES, await asyncio.gather(*checks), strict=True):
            if not ok:
                raise Failed(f"{service.name} did not become ready; see {self.log(service)}")
            say(f"{service.name} ready on {self.config.url(service)}")

    def _dev_keys(self) -> None:
        """`dev-keys` does nothing once the key exists: skip its 1.5 s start-up then."""
        jwks = Path(self.env["LABORCOOP_JWKS_FILE"])
        if not (jwks.is_file() and (jwks.parent / "signing-key.pem").is_file()):
            subprocess.run(self._command("gateway", "dev-keys"), env=self.env, check=True)  # noqa: S603

    def start(self) -> None:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self._dev_keys()
        # The token for the closing message is signed while the services start.
        token = subprocess.Popen(  # noqa: S603
            self._command("gateway", "dev-token", "--province", "430000", "--roles", "province"),
            env=self.env, stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        try:
            self._start_and_seed()
        finally:
            output, _ = token.communicate()
        if token.returncode != 0:
            raise Failed("laborcoop-gateway dev-token failed")
        print(closing_message(self.config, output.strip(), self._demo_clients()), flush=True)

    def _demo_clients(self) -> str:
        """The gateway's demo OAuth clients (made once, secrets kept in the run directory), as
        `laborcoop-gateway demo-clients` prints them; a failure is named, never fatal."""
        gateway = by_name("gateway")
        command = self._command(
            "gateway", "demo-clients", "--file", str(self.run_dir / "demo-clients.json"),
            "--url", self.config.url(gateway),
        )  # fmt: skip
        with self.log(gateway).open("a") as log:
            done = subprocess.run(  # noqa: S603 - our own console script
                command, env=self.env_for(gateway), stdout=subprocess.PIPE, stderr=log,
                text=True, check=False,
            )  # fmt: skip
        if done.returncode != 0:
            return f"Demo clients: not made; see {self.log(gateway)}"
        return done.stdout

    def _start_and_seed(self) -> None:
        started = {}
        for service in SERVICES:
            if read_pid(self.pid_file(service)) is not None:
                say(f"{service.name} already running on port {self.config.port(service)}")
            else:
                started[service.name] = self._spawn(service)
        asyncio.run(self._wait_all(started))
        if needs_seed(self.marker, self.env):
            self.seed()
        else:
            when = self.marker.read_text().strip()
            say(f"demo data loaded before (on {when}); LABORCOOP_SEED=always loads what is missing")

    def seed(self) -> None:
        """`seed` of each seeding service in table order, its output on the terminal and its
        errors in its log. A failing seed stops here naming the log and leaves no marker, so the
        next `make run` tries again."""
        self.run_dir.mkdir(parents=True, exist_ok=True)
        for service in (s for s in SERVICES if s.seeds):
            if not self._run(
                self._command(service.name, "seed"),
                self.log(service),
                env=self.env_for(service),
                stdout_to_log=False,
            ):
                raise Failed(
                    f"loading the demo data of {service.name} failed; see {self.log(service)}"
                )
        self.marker.write_text(datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") + "\n")

    def stop(self) -> None:
        for service in SERVICES:
            pid = read_pid(self.pid_file(service))
            if pid is not None:
                terminate(pid, grace_s=15)
                say(f"{service.name} stopped")
            self.pid_file(service).unlink(missing_ok=True)

    def status(self) -> list[str]:
        lines = []
        for service in SERVICES:
            pid = read_pid(self.pid_file(service))
            port = self.config.port(service)
            state = f"running (pid {pid}) on port {port}" if pid is not None else "stopped"
            lines.append(f"services: {service.name} {state}")
        return lines
