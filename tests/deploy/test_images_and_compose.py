"""The Dockerfile and docker-compose.yml, read statically (no Docker engine here): one target per
service, dependencies installed from uv.lock before the code, a non-root final stage without
build tools; compose runs the whole system with exactly the settings the services read; the
image names agree across the Dockerfile, compose and kustomize."""

import re

import pytest

from tests.deploy.manifests import (
    NOT_SETTINGS,
    OVERLAYS,
    ROOT,
    SERVICE_NAMES,
    Stage,
    compose,
    compose_app_services,
    containers,
    dockerfile_stages,
    variables_read,
)
from tests.deploy.test_manifests_and_code import REQUIRED_BY_SERVICE


def _stage(name: str) -> Stage:
    (stage,) = [s for s in dockerfile_stages() if s.name == name]
    return stage


def _instructions(stage: Stage, keyword: str) -> list[str]:
    return [rest for kind, rest in stage.instructions if kind == keyword]


def test_each_service_is_a_target_of_the_runtime_stage() -> None:
    targets = {s.name for s in dockerfile_stages() if s.base == "runtime"}
    assert targets == set(SERVICE_NAMES)
    for service in SERVICE_NAMES:
        stage = _stage(service)
        assert _instructions(stage, "CMD") == [
            f'["laborcoop-{service}", "serve", "--host", "0.0.0.0", "--port", "8080"]'
        ]
        assert [k for k, _ in stage.instructions] == ["LABEL", "CMD"]


def test_dependencies_are_installed_from_the_lock_before_the_code() -> None:
    build = _stage("build")
    steps = [f"{kind} {rest}" for kind, rest in build.instructions if kind in {"COPY", "RUN"}]
    lock = steps.index("COPY pyproject.toml uv.lock ./")
    dependencies = steps.index("RUN uv sync --frozen --no-dev --no-install-workspace")
    code = steps.index("COPY libs ./libs")
    assert lock < dependencies < code
    assert steps[-1] == "RUN uv sync --frozen --no-dev --no-editable"
    copies = [rest for kind, rest in build.instructions if kind == "COPY"]
    assert not [c for c in copies if c.startswith((". ", "./ "))], "the whole context is copied"


def test_the_final_stage_is_non_root_and_has_no_build_tools() -> None:
    runtime = _stage("runtime")
    assert runtime.base == _stage("build").base  # the same Python as the environment
    copies = _instructions(runtime, "COPY")
    assert copies == ["--from=build /app/.venv /app/.venv"]  # the environment, nothing else
    assert _instructions(runtime, "USER") == ["10001:10001"]  # the manifests' runAsUser
    run = " ".join(_instructions(runtime, "RUN"))
    assert "pip uninstall --yes --quiet pip setuptools wheel" in run
    assert not re.search(r"apt-get install|pip install|uv ", run)
    assert _instructions(runtime, "HEALTHCHECK")
    assert _instructions(runtime, "STOPSIGNAL") == ["SIGTERM"]


def test_the_build_context_keeps_tests_and_local_state_out() -> None:
    ignored = set((ROOT / ".dockerignore").read_text(encoding="utf-8").split())
    assert {".git", ".venv", ".devstack", ".devstack-test", "tests", "libs/testing"} <= ignored
    assert {"libs/*/tests", "services/*/tests", "tools", "docs"} <= ignored


def test_image_names_agree_across_dockerfile_compose_and_kustomize() -> None:
    for name, service in compose_app_services().items():
        target = service["build"]["target"]
        assert service["build"]["context"] == "."
        assert service["image"] == f"laborcoop/{target}:dev", name
        assert target in SERVICE_NAMES
    for overlay in OVERLAYS:
        for container in containers(overlay):
            image = container.spec["image"].rsplit(":", 1)[0]
            assert image.endswith(f"laborcoop/{container.service}"), (overlay, image)
            tag = container.spec["image"].rsplit(":", 1)[1]
            assert tag == ("dev" if overlay == "dev" else "0.1.0")


def test_compose_runs_every_service_after_its_migrations() -> None:
    services = compose()["services"]
    for service in SERVICE_NAMES:
        serve = services[service]
        assert serve["build"]["target"] == service
        assert "command" not in serve, "the image's CMD is `serve` on 8080"
        assert serve["healthcheck"]["test"][-1].endswith(
            "'http://127.0.0.1:8080/readyz', timeout=2)"
        )
        needs = serve["depends_on"]
        assert needs[f"{service}-migrate"] == {"condition": "service_completed_successfully"}
        assert needs["kafka"] == {"condition": "service_healthy"}
        migrate = services[f"{service}-migrate"]
        assert migrate["command"] == [f"laborcoop-{service}", "migrate"]
        assert migrate["depends_on"] == {"postgres": {"condition": "service_healthy"}}
        grace = float(serve["environment"]["LABORCOOP_SHUTDOWN_GRACE_S"])
        assert float(serve["stop_grace_period"].removesuffix("s")) > grace
    gateway_needs = services["gateway"]["depends_on"]
    for upstream in set(SERVICE_NAMES) - {"gateway"}:
        assert gateway_needs[upstream] == {"condition": "service_healthy"}
    seeds = [name for name in services if name.endswith("-seed")]
    assert sorted(seeds) == ["agreements-seed", "placements-seed", "registry-seed"]
    for seed in seeds:
        owner = seed.removesuffix("-seed")
        assert services[seed]["command"] == [f"laborcoop-{owner}", "seed"]
        assert services[seed]["depends_on"][owner] == {"condition": "service_healthy"}


def test_compose_uses_the_official_images_and_makes_the_four_databases() -> None:
    services = compose()["services"]
    assert services["kafka"]["image"].startswith("apache/kafka:4.1.")
    assert services["kafka"]["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert services["postgres"]["image"].startswith("postgres:")
    mounts = services["postgres"]["volumes"]
    assert "./deploy/compose/initdb:/docker-entrypoint-initdb.d:ro" in mounts
    script = (ROOT / "deploy/compose/initdb/01-databases.sql").read_text(encoding="utf-8")
    assert set(re.findall(r"^CREATE DATABASE (\w+);$", script, re.MULTILINE)) == set(SERVICE_NAMES)
    for name in ("otel-collector", "jaeger"):
        assert services[name]["profiles"] == ["tracing"]


@pytest.mark.parametrize("name", sorted(compose_app_services()))
def test_compose_sets_only_settings_its_service_reads(name: str) -> None:
    service = compose_app_services()[name]
    target = service["build"]["target"]
    for variable in service["environment"]:
        assert variable in variables_read(target) or variable in NOT_SETTINGS, (name, variable)
    if name == target:  # a `serve` container
        required = {f"LABORCOOP_{target.upper()}_DATABASE_URL", "LABORCOOP_KAFKA_BOOTSTRAP"}
        required |= {"LABORCOOP_JWKS_FILE", "LABORCOOP_ENVIRONMENT"}
        # development: the gateway signs with the dev-keys key, so its signing keys may be unset
        required |= set(REQUIRED_BY_SERVICE.get(target, {})) - {
            "LABORCOOP_TOKEN_SIGNING_KEYS",
            "LABORCOOP_TOKEN_SIGNING_KEY_ID",
        }
        missing = required - set(service["environment"])
        assert not missing, (name, sorted(missing))


def test_compose_containers_are_read_only_without_privileges() -> None:
    for name, service in compose_app_services().items():
        assert service["read_only"] is True, name
        assert service["cap_drop"] == ["ALL"], name
        assert "no-new-privileges:true" in service["security_opt"], name
        assert "privileged" not in service, name
