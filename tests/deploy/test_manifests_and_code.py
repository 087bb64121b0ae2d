"""The Kubernetes manifests read together with the code: every service is deployed the same safe
way, every variable is a setting the service reads and every required one is set, the topics are
exactly the contract's, shutdown fits in the grace period, and the network is closed by default."""

import re

import pytest

from laborcoop.common.settings import service_database_url_variable
from tests.deploy.manifests import (
    NOT_SETTINGS,
    OVERLAYS,
    PORT,
    SERVICE_NAMES,
    Container,
    Doc,
    consumer_groups,
    containers,
    contract_topics,
    generated,
    named,
    objects,
    of_kind,
    variables_read,
)

REQUIRED = {
    "LABORCOOP_ENVIRONMENT": "production refuses development secrets only when it says so",
    "LABORCOOP_KAFKA_BOOTSTRAP": "its default is the local stack's 127.0.0.1:29092",
    "LABORCOOP_JWKS_FILE": "`serve` refuses to start without a key set (the gateway excepted)",
}
"""Variables every `serve` container must get, beyond its database URL, and why."""

REQUIRED_BY_SERVICE = {
    "placements": {
        "LABORCOOP_PERSONAL_DATA_KEYS": "`serve` refuses to start without them (ADR 0011)",
        "LABORCOOP_PERSONAL_DATA_KEY_ID": "names the key that seals new values",
        "LABORCOOP_BLIND_INDEX_KEY": "`serve` refuses to start without it (ADR 0011)",
    },
    "gateway": {
        "LABORCOOP_TOKEN_SIGNING_KEYS": "production `serve` refuses to start without them",
        "LABORCOOP_TOKEN_SIGNING_KEY_ID": "names the key that signs",
        "LABORCOOP_REGISTRY_URL": "where brands are forwarded (default: 127.0.0.1)",
        "LABORCOOP_AGREEMENTS_URL": "where agreements are forwarded (default: 127.0.0.1)",
        "LABORCOOP_PLACEMENTS_URL": "where the exchange is forwarded (default: 127.0.0.1)",
    },
}

SECRET_VARIABLES = {
    "LABORCOOP_PERSONAL_DATA_KEYS",
    "LABORCOOP_BLIND_INDEX_KEY",
    "LABORCOOP_TOKEN_SIGNING_KEYS",
    "LABORCOOP_KAFKA_BOOTSTRAP",
    *(service_database_url_variable(s) for s in SERVICE_NAMES),
}
"""Variables that come from a Secret, never from a ConfigMap or a literal value."""


def _all_containers() -> list[Container]:
    return [c for overlay in OVERLAYS for c in containers(overlay)]


CONTAINERS = pytest.mark.parametrize("container", _all_containers(), ids=lambda c: c.where)
SERVING = pytest.mark.parametrize(
    "container", [c for c in _all_containers() if not c.init], ids=lambda c: c.where
)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_service_has_each_of_its_objects(overlay: str) -> None:
    kinds = ("ServiceAccount", "Deployment", "Service", "PodDisruptionBudget")
    for kind in kinds:
        names = sorted(d["metadata"]["name"] for d in of_kind(overlay, kind))
        assert names == sorted(SERVICE_NAMES), (overlay, kind, names)
    hpas = sorted(d["metadata"]["name"] for d in of_kind(overlay, "HorizontalPodAutoscaler"))
    deployments = of_kind(overlay, "Deployment")
    if overlay == "dev":  # one replica each, no autoscaling
        assert hpas == []
        assert all(d["spec"]["replicas"] == 1 for d in deployments)
    else:  # the HPA owns the replica count: a Deployment that set one would fight it
        assert hpas == sorted(SERVICE_NAMES)
        assert all("replicas" not in d["spec"] for d in deployments)
        for hpa in of_kind(overlay, "HorizontalPodAutoscaler"):
            assert hpa["spec"]["minReplicas"] == 3
            assert hpa["spec"]["maxReplicas"] >= hpa["spec"]["minReplicas"]
            assert hpa["spec"]["scaleTargetRef"]["name"] == hpa["metadata"]["name"]
    namespaces = {d["metadata"].get("namespace") for d in objects(overlay) if d["kind"] in kinds}
    assert namespaces == {"laborcoop"}


@CONTAINERS
def test_every_container_is_non_root_read_only_and_bounded(container: Container) -> None:
    pod, spec = container.pod, container.spec
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == 10001  # the Dockerfile's user
    assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
    assert pod["automountServiceAccountToken"] is False
    assert pod["serviceAccountName"] == container.service
    security = spec["securityContext"]
    assert security["allowPrivilegeEscalation"] is False
    assert security["readOnlyRootFilesystem"] is True
    assert security["capabilities"]["drop"] == ["ALL"]
    assert "add" not in security["capabilities"]
    for bound in ("requests", "limits"):
        assert {"cpu", "memory"} <= set(spec["resources"][bound]), (container.where, bound)
    image = spec["image"].rsplit(":", 1)[0].rsplit("/", 1)[-1]
    assert image == container.service, f"{container.where} runs the image {spec['image']}"
    assert spec["command"][0] == f"laborcoop-{container.service}"


@SERVING
def test_every_server_has_both_probes_on_its_port(container: Container) -> None:
    spec = container.spec
    assert spec["ports"] == [{"name": "http", "containerPort": PORT}]
    assert spec["args"] == ["serve", "--host", "0.0.0.0", "--port", str(PORT)]  # noqa: S104
    assert spec["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert spec["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert spec["startupProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_migrations_run_before_the_new_version_serves(overlay: str) -> None:
    for deployment in of_kind(overlay, "Deployment"):
        service = deployment["metadata"]["name"]
        init = deployment["spec"]["template"]["spec"]["initContainers"]
        assert [c["command"] for c in init] == [[f"laborcoop-{service}", "migrate"]]
        serving = deployment["spec"]["template"]["spec"]["containers"][0]
        assert init[0]["image"] == serving["image"]  # the new release's migrations
        strategy = deployment["spec"]["strategy"]
        assert strategy["rollingUpdate"]["maxUnavailable"] == 0  # old pods serve meanwhile


@SERVING
def test_shutdown_fits_in_the_grace_period(container: Container) -> None:
    """SIGTERM comes after the preStop pause; `serve` then takes up to
    LABORCOOP_SHUTDOWN_GRACE_S; the kubelet's SIGKILL must come later than both."""
    pause = container.spec["lifecycle"]["preStop"]["sleep"]["seconds"]
    grace = float(_value(container, "LABORCOOP_SHUTDOWN_GRACE_S"))
    period = container.pod["terminationGracePeriodSeconds"]
    assert pause >= 3, "the endpoints must have time to drop the pod before SIGTERM"
    assert pause + grace + 3 <= period, (container.where, pause, grace, period)


@CONTAINERS
def test_every_variable_is_a_setting_its_service_reads(container: Container) -> None:
    read = variables_read(container.service)
    anyone = set().union(*(variables_read(s) for s in SERVICE_NAMES))
    for name, entry in container.variables().items():
        if name in NOT_SETTINGS:
            continue
        if entry.get("from") == "ConfigMap":  # shared by all four: some service reads it
            assert name in anyone, f"{container.where}: {name} is no setting of any service"
        else:
            assert name in read, f"{container.where}: {container.service} does not read {name}"


@SERVING
def test_every_required_setting_is_set(container: Container) -> None:
    required = {
        service_database_url_variable(container.service),
        *REQUIRED,
        *REQUIRED_BY_SERVICE.get(container.service, {}),
    }
    missing = required - set(container.variables())
    assert not missing, f"{container.where} lacks {sorted(missing)}"
    for name in REQUIRED_BY_SERVICE.get(container.service, {}):
        entry = container.variables()[name]
        assert not entry.get("valueFrom", {}).get("secretKeyRef", {}).get("optional"), name


@CONTAINERS
def test_secrets_come_from_secrets(container: Container) -> None:
    for name, entry in container.variables().items():
        if name in SECRET_VARIABLES:
            assert "secretKeyRef" in entry.get("valueFrom", {}), f"{container.where}: {name}"


def test_production_commits_no_secret_and_says_production() -> None:
    assert of_kind("prod", "Secret") == []
    config = generated("prod", "ConfigMap", "laborcoop-config")["data"]
    assert config["LABORCOOP_ENVIRONMENT"] == "production"
    assert "LABORCOOP_TOPIC_PREFIX" not in config  # no prefix in production (ADR 0004)
    assert int(config["LABORCOOP_TOPIC_REPLICATION"]) == 3


def test_development_secrets_hold_every_key_the_deployments_name() -> None:
    secrets = {
        re.sub(r"-[a-z0-9]{10}$", "", d["metadata"]["name"]): d for d in of_kind("dev", "Secret")
    }
    for container in containers("dev"):
        for entry in container.spec.get("env", []):
            ref = entry.get("valueFrom", {}).get("secretKeyRef")
            if ref is not None:
                secret = secrets[re.sub(r"-[a-z0-9]{10}$", "", ref["name"])]
                assert ref["key"] in secret["data"], (container.where, ref)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_topics_are_exactly_the_contracts(overlay: str) -> None:
    kafka_topics = of_kind(overlay, "KafkaTopic")
    assert {t["spec"]["topicName"] for t in kafka_topics} == contract_topics()
    assert len(kafka_topics) == len(contract_topics())
    config = generated(overlay, "ConfigMap", "laborcoop-config")["data"]
    for topic in kafka_topics:
        spec = topic["spec"]
        assert spec["partitions"] == int(config["LABORCOOP_TOPIC_PARTITIONS"])
        assert spec["replicas"] == int(config["LABORCOOP_TOPIC_REPLICATION"])
        assert spec["config"]["min.insync.replicas"] <= spec["replicas"]
        dead_letters = spec["topicName"].startswith("laborcoop.dlq.")
        retention = spec["config"]["retention.ms"]
        # events are the source a projection is rebuilt from: kept; dead letters 90 days
        assert retention == (90 * 86_400_000 if dead_letters else -1), spec["topicName"]


def test_every_consumer_group_has_a_dead_letter_topic() -> None:
    groups = consumer_groups()
    assert {"gateway.projections", "agreements.brands"} <= set(groups)
    for group in groups:
        assert f"laborcoop.dlq.{group}" in contract_topics()


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_network_is_closed_by_default(overlay: str) -> None:
    policies = {p["metadata"]["name"]: p["spec"] for p in of_kind(overlay, "NetworkPolicy")}
    deny = policies["default-deny"]
    assert _selected(deny) == set(SERVICE_NAMES)
    assert deny["policyTypes"] == ["Ingress", "Egress"]
    assert "ingress" not in deny
    assert "egress" not in deny

    ingress = {name: _selected(p) for name, p in policies.items() if "ingress" in p}
    gateway_from = policies["gateway-from-ingress"]["ingress"]
    assert ingress["gateway-from-ingress"] == {"gateway"}
    assert gateway_from[0]["from"][0]["namespaceSelector"]["matchLabels"] == {
        "kubernetes.io/metadata.name": "ingress-nginx"
    }
    assert ingress["services-from-gateway"] == {"registry", "agreements", "placements"}
    assert policies["services-from-gateway"]["ingress"][0]["from"] == [
        {"podSelector": {"matchLabels": {"app.kubernetes.io/name": "gateway"}}}
    ]
    for name, policy in policies.items():
        for rule in policy.get("ingress", []):
            assert rule["ports"] == [{"protocol": "TCP", "port": PORT}], name
            assert rule.get("from"), f"{name} admits everyone"

    egress_ports = {
        (port["protocol"], port["port"])
        for policy in policies.values()
        for rule in policy.get("egress", [])
        for port in rule["ports"]
    }
    assert egress_ports == {("UDP", 53), ("TCP", 53), ("TCP", 5432), ("TCP", 9092), ("TCP", PORT)}
    to_services = policies["gateway-to-services"]
    assert _selected(to_services) == {"gateway"}
    assert to_services["egress"][0]["ports"] == [{"protocol": "TCP", "port": PORT}]


def _selected(policy: Doc) -> set[str]:
    selector = policy["podSelector"]
    if "matchLabels" in selector:
        return {selector["matchLabels"]["app.kubernetes.io/name"]}
    (expression,) = selector["matchExpressions"]
    assert expression["key"] == "app.kubernetes.io/name"
    assert expression["operator"] == "In"
    return set(expression["values"])


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_gateway_is_published_over_tls_and_alone(overlay: str) -> None:
    ingress = named(overlay, "Ingress", "gateway")["spec"]
    hosts = [rule["host"] for rule in ingress["rules"]]
    assert [tls["hosts"] for tls in ingress["tls"]] == [hosts]
    assert ingress["tls"][0]["secretName"]
    paths = [p for rule in ingress["rules"] for p in rule["http"]["paths"]]
    assert {p["backend"]["service"]["name"] for p in paths} == {"gateway"}
    assert not {p["path"] for p in paths} & {"/metrics", "/healthz", "/readyz", "/"}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_replicas_spread_and_drain_one_at_a_time(overlay: str) -> None:
    for deployment in of_kind(overlay, "Deployment"):
        name = deployment["metadata"]["name"]
        spread = deployment["spec"]["template"]["spec"]["topologySpreadConstraints"]
        assert {c["topologyKey"] for c in spread} == {
            "kubernetes.io/hostname",
            "topology.kubernetes.io/zone",
        }
        for constraint in spread:
            assert constraint["labelSelector"]["matchLabels"] == {"app.kubernetes.io/name": name}
        budget = named(overlay, "PodDisruptionBudget", name)["spec"]
        assert budget == {
            "maxUnavailable": 1,
            "selector": {"matchLabels": {"app.kubernetes.io/name": name}},
        }


def _value(container: Container, name: str) -> str:
    entry = container.variables()[name]
    if "value" in entry:
        return str(entry["value"])
    config = generated(container.overlay, "ConfigMap", "laborcoop-config")["data"]
    return str(config[name])
