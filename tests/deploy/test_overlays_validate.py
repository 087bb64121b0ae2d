"""Every overlay builds, and every object in it is valid: the Kubernetes objects against the
schemas of a current release (kubernetes-validate --strict, from PyPI in a tool environment of
its own), the operators' resources (Strimzi, CloudNativePG) for the fields and values this
project relies on (their schemas ship with the operators, not with kubernetes-validate)."""

import base64
import subprocess
from pathlib import Path

import pytest
import yaml  # type: ignore[import-untyped]

from tests.deploy.manifests import OVERLAYS, Doc, generated, named, objects, of_kind, tool

KUBERNETES_VALIDATE = "kubernetes-validate==1.37.0"
KUBERNETES_VERSION = "1.37.0"
OPERATOR_GROUPS = ("kafka.strimzi.io/", "postgresql.cnpg.io/")


def _validate(path: Path) -> subprocess.CompletedProcess[str]:
    command = tool(
        KUBERNETES_VALIDATE,
        "kubernetes-validate",
        "--strict",
        "--kubernetes-version",
        KUBERNETES_VERSION,
        str(path),
    )
    return subprocess.run(command, capture_output=True, text=True, check=False, timeout=300)  # noqa: S603


def _core(overlay: str) -> list[Doc]:
    return [d for d in objects(overlay) if not d["apiVersion"].startswith(OPERATOR_GROUPS)]


@pytest.fixture(scope="module")
def validated(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """kubernetes-validate's report of each overlay's Kubernetes objects (one run for all)."""
    folder = tmp_path_factory.mktemp("rendered")
    paths = []
    for overlay in OVERLAYS:
        path = folder / f"{overlay}.yaml"
        path.write_text(yaml.safe_dump_all(_core(overlay)), encoding="utf-8")
        paths.append(path)
    reports: dict[str, str] = {}
    for overlay, path in zip(OVERLAYS, paths, strict=True):
        result = _validate(path)
        assert result.returncode == 0, f"{overlay}: {result.stdout}{result.stderr}"
        reports[overlay] = result.stdout + result.stderr
    return reports


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_kubernetes_object_validates_strictly(
    overlay: str, validated: dict[str, str]
) -> None:
    report = validated[overlay]
    passed = [line for line in report.splitlines() if " passed for resource " in line]
    assert len(passed) == len(_core(overlay)), report
    assert "WARN" not in report, report
    assert "ERROR" not in report, report
    assert f"against version {KUBERNETES_VERSION.rsplit('.', 1)[0]}" in report


def test_the_validator_refuses_an_unknown_field(tmp_path: Path) -> None:
    """The check above is only worth something if --strict catches a misspelt field."""
    deployment = named("prod", "Deployment", "registry")
    broken = {**deployment, "spec": {**deployment["spec"], "replica": 3}}
    path = tmp_path / "broken.yaml"
    path.write_text(yaml.safe_dump(broken), encoding="utf-8")
    result = _validate(path)
    assert result.returncode != 0, result.stdout


def test_the_dev_kafka_is_a_kraft_cluster_the_services_can_use() -> None:
    kafka = named("dev", "Kafka", "kafka")
    assert kafka["apiVersion"] == "kafka.strimzi.io/v1beta2"
    assert kafka["metadata"]["annotations"] == {
        "strimzi.io/kraft": "enabled",
        "strimzi.io/node-pools": "enabled",
    }
    spec = kafka["spec"]["kafka"]
    assert spec["version"].startswith("4.1.")  # as the local stack (aiokafka 0.14 speaks it)
    assert spec["metadataVersion"].startswith("4.1-")
    assert "zookeeper" not in kafka["spec"]
    (listener,) = spec["listeners"]
    assert listener == {"name": "plain", "port": 9092, "type": "internal", "tls": False}
    bootstrap = generated("dev", "Secret", "laborcoop-kafka")
    assert _decoded(bootstrap)["bootstrap"] == "kafka-kafka-bootstrap:9092"
    (pool,) = of_kind("dev", "KafkaNodePool")
    assert pool["metadata"]["labels"]["strimzi.io/cluster"] == "kafka"
    assert sorted(pool["spec"]["roles"]) == ["broker", "controller"]
    replicas = pool["spec"]["replicas"]
    config = spec["config"]
    for key in (
        "default.replication.factor",
        "offsets.topic.replication.factor",
        "transaction.state.log.replication.factor",
    ):
        assert config[key] <= replicas, key
    assert config["min.insync.replicas"] <= replicas
    assert config["auto.create.topics.enable"] is False  # topics are KafkaTopics or the services'
    assert "topicOperator" in kafka["spec"]["entityOperator"]  # it makes the KafkaTopics
    _restricted(pool["spec"]["template"], "kafkaContainer")
    _restricted(kafka["spec"]["entityOperator"]["template"], "topicOperatorContainer")


def _restricted(template: Doc, container: str) -> None:
    """The namespace enforces Pod Security `restricted`: so must the operators' pods."""
    pod = template["pod"]["securityContext"]
    assert pod["runAsNonRoot"] is True
    assert pod["seccompProfile"]["type"] == "RuntimeDefault"
    security = template[container]["securityContext"]
    assert security["allowPrivilegeEscalation"] is False
    assert security["capabilities"]["drop"] == ["ALL"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_topic_belongs_to_a_cluster_whose_operator_sees_it(overlay: str) -> None:
    for topic in of_kind(overlay, "KafkaTopic"):
        assert topic["apiVersion"] == "kafka.strimzi.io/v1beta2"
        assert topic["metadata"]["labels"]["strimzi.io/cluster"] == "kafka"
        assert topic["metadata"]["name"] == topic["spec"]["topicName"]
        assert set(topic["spec"]) == {"topicName", "partitions", "replicas", "config"}
        assert topic["spec"]["config"]["cleanup.policy"] == "delete"
        if overlay == "dev":  # the topic operator of the Kafka in the same namespace
            assert (
                topic["metadata"]["namespace"]
                == named("dev", "Kafka", "kafka")["metadata"]["namespace"]
            )
        else:  # the Strimzi Kafka `kafka` of the namespace `kafka`
            assert topic["metadata"]["namespace"] == "kafka"


def test_the_dev_postgresql_has_every_service_database() -> None:
    (cluster,) = of_kind("dev", "Cluster")
    assert cluster["apiVersion"] == "postgresql.cnpg.io/v1"
    name = cluster["metadata"]["name"]
    role = cluster["spec"]["bootstrap"]["initdb"]["owner"]
    credentials = generated(
        "dev", "Secret", cluster["spec"]["bootstrap"]["initdb"]["secret"]["name"]
    )
    assert credentials["type"] == "kubernetes.io/basic-auth"
    assert _decoded(credentials)["username"] == role
    databases = {d["spec"]["name"]: d["spec"] for d in of_kind("dev", "Database")}
    urls = _decoded(generated("dev", "Secret", "laborcoop-database"))
    assert set(databases) == set(urls)
    for service, url in urls.items():
        assert databases[service]["cluster"] == {"name": name}
        assert databases[service]["owner"] == role
        password = _decoded(credentials)["password"]
        assert url == f"postgresql://{role}:{password}@{name}-rw:5432/{service}"


def _decoded(secret: Doc) -> dict[str, str]:
    return {k: base64.b64decode(v).decode() for k, v in secret["data"].items()}
