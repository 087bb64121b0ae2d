"""What the deployment checks read: the rendered overlays, the compose file, the Dockerfile, and
the code's own lists (services, settings, topics, consumer groups) to hold them against.

Nothing here runs a container: this machine has no Docker engine and no cluster. The overlays
are rendered with `kubectl kustomize`; the tools that validate them come from PyPI, each in a
tool environment of its own (`uv tool run`), so they never enter the services' uv.lock.
"""

import importlib
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml  # type: ignore[import-untyped]

from laborcoop.common.settings import (
    NOT_FROM_ENVIRONMENT,
    ServiceSettings,
    service_database_url_variable,
)
from laborcoop.common.spec import ServiceSpec
from laborcoop.contracts import topics
from laborcoop.devstack.table import SERVICES

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
OVERLAYS = ("dev", "prod")
COMPOSE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
CHECKS = ROOT / "deploy" / "checks"

SERVICE_NAMES = tuple(s.name for s in SERVICES)
PORT = 8080

Doc = dict[str, Any]

NOT_SETTINGS = {
    "FORWARDED_ALLOW_IPS": "read by uvicorn (the gateway's `serve`): whose X-Forwarded-For to "
    "trust, so the token endpoint's failure limit counts each client's address (ADR 0012)",
}
"""Variables the manifests may set that are no laborcoop setting, each with who reads it."""


def uv() -> list[str]:
    """How to run uv: as the Makefile does (`python3 -m uv`), else a `uv` on the PATH."""
    for python in ("python3", sys.executable):
        found = shutil.which(python) or python
        probe = subprocess.run(  # noqa: S603 - a fixed command
            [found, "-m", "uv", "--version"], capture_output=True, check=False
        )
        if probe.returncode == 0:
            return [found, "-m", "uv"]
    on_path = shutil.which("uv")
    if on_path is None:
        raise RuntimeError("uv is missing: `make bootstrap` installs it (python3 -m pip)")
    return [on_path]


def tool(package: str, *arguments: str, constraints: Path | None = None) -> list[str]:
    """The command running ``package``'s console script in its own tool environment."""
    pinned = ["--constraints", str(constraints)] if constraints is not None else []
    return [*uv(), "tool", "run", "--quiet", *pinned, "--from", package, *arguments]


def kubectl() -> str:
    found = shutil.which("kubectl")
    if found is None:
        raise RuntimeError("kubectl is missing: install the Debian package `kubectl`")
    return found


@cache
def rendered(overlay: str) -> str:
    """``kubectl kustomize deploy/k8s/overlays/<overlay>``: the YAML an operator applies."""
    result = subprocess.run(  # noqa: S603 - a fixed command on a path of this repository
        [kubectl(), "kustomize", str(K8S / "overlays" / overlay)],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "KUBECONFIG": os.devnull},
    )
    assert result.returncode == 0, f"{overlay} does not build: {result.stderr}"
    return result.stdout


@cache
def objects(overlay: str) -> tuple[Doc, ...]:
    return tuple(d for d in yaml.safe_load_all(rendered(overlay)) if d)


def of_kind(overlay: str, kind: str) -> list[Doc]:
    return [d for d in objects(overlay) if d["kind"] == kind]


def named(overlay: str, kind: str, name: str) -> Doc:
    matches = [d for d in of_kind(overlay, kind) if d["metadata"]["name"] == name]
    assert len(matches) == 1, f"{overlay}: {len(matches)} {kind} named {name}"
    return matches[0]


def generated(overlay: str, kind: str, prefix: str) -> Doc:
    """A ConfigMap or Secret made by a kustomize generator (its name has a hash suffix)."""
    matches = [
        d
        for d in of_kind(overlay, kind)
        if re.fullmatch(rf"{re.escape(prefix)}(-[a-z0-9]{{10}})?", d["metadata"]["name"])
    ]
    assert len(matches) == 1, f"{overlay}: {len(matches)} {kind} {prefix}"
    return matches[0]


@dataclass(frozen=True)
class Container:
    overlay: str
    service: str
    pod: Doc
    spec: Doc
    init: bool

    @property
    def where(self) -> str:
        return f"{self.overlay}/{self.service}/{self.spec['name']}"

    def variables(self) -> dict[str, Doc]:
        """Every variable the container gets: its `env`, and the keys of the ConfigMaps and
        Secrets of its `envFrom` that the overlay renders (a Secret made outside git has no
        keys to read; `env` entries name theirs)."""
        found: dict[str, Doc] = {e["name"]: e for e in self.spec.get("env", [])}
        for source in self.spec.get("envFrom", []):
            for kind, ref in (("ConfigMap", "configMapRef"), ("Secret", "secretRef")):
                if ref in source:
                    for item in of_kind(self.overlay, kind):
                        if item["metadata"]["name"] == source[ref]["name"]:
                            for key in item.get("data", {}):
                                found.setdefault(key, {"name": key, "from": kind})
        return found


def containers(overlay: str) -> Iterator[Container]:
    for deployment in of_kind(overlay, "Deployment"):
        pod = deployment["spec"]["template"]["spec"]
        service = deployment["metadata"]["name"]
        for spec in pod.get("initContainers", []):
            yield Container(overlay, service, pod, spec, init=True)
        for spec in pod["containers"]:
            yield Container(overlay, service, pod, spec, init=False)


# ---------------------------------------------------------------- the code's own lists


def settings_class(service: str) -> type[ServiceSettings]:
    module = importlib.import_module(f"laborcoop.{service}.settings")
    classes = [
        value
        for value in vars(module).values()
        if isinstance(value, type)
        and issubclass(value, ServiceSettings)
        and value is not ServiceSettings
        and value.__module__ == module.__name__
    ]
    assert len(classes) == 1, f"{service}: settings classes {classes}"
    return classes[0]


def variables_read(service: str) -> set[str]:
    """The environment variables the service's settings read."""
    cls = settings_class(service)
    fields = {f"LABORCOOP_{name.upper()}" for name in cls.model_fields}
    skipped = {f"LABORCOOP_{name.upper()}" for name in NOT_FROM_ENVIRONMENT}
    return (fields - skipped) | {service_database_url_variable(service)}


def spec_of(service: str) -> ServiceSpec[Any, Any]:
    spec = importlib.import_module(f"laborcoop.{service}.app").SPEC
    assert isinstance(spec, ServiceSpec)
    return spec


def consumer_groups() -> dict[str, str]:
    """Every consumer group of every service, and the service that owns it."""
    return {s.group: service for service in SERVICE_NAMES for s in spec_of(service).subscriptions}


def contract_topics() -> set[str]:
    """The topics the services publish to and the dead-letter topic of every consumer group."""
    return set(topics.ALL) | {topics.dead_letter(group) for group in consumer_groups()}


# ---------------------------------------------------------------- compose and Dockerfile


@cache
def compose() -> Doc:
    document = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    assert isinstance(document, dict)
    return document


def compose_app_services() -> dict[str, Doc]:
    """The compose services that run one of the Dockerfile's images."""
    return {
        name: service
        for name, service in compose()["services"].items()
        if isinstance(service.get("build"), dict)
    }


@dataclass(frozen=True)
class Stage:
    name: str | None
    base: str
    instructions: list[tuple[str, str]]


def dockerfile_stages() -> list[Stage]:
    """The stages of the Dockerfile: name, base, instructions (continuations joined)."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text(encoding="utf-8"))
    stages: list[Stage] = []
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        keyword, _, rest = stripped.partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            match = re.fullmatch(r"(\S+)(?:\s+AS\s+(\S+))?", rest.strip(), re.IGNORECASE)
            assert match is not None, rest
            stages.append(Stage(match.group(2), match.group(1), []))
        else:
            assert stages, f"{keyword} before FROM"
            stages[-1].instructions.append((keyword, rest.strip()))
    return stages
