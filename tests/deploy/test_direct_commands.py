"""The direct-commands component (deploy/k8s/components/direct-commands, ADR 0013) on the prod
overlay, read with the code: every command route of every owner reaches that owner straight from
the edge, every other route — the owners' reads, the gateway's own routes — reaches the gateway,
and the edge is admitted to the services' API port only."""

import os
import subprocess
from collections.abc import Iterator

import pytest
import yaml  # type: ignore[import-untyped]
from fastapi import APIRouter
from fastapi.routing import APIRoute
from starlette.routing import BaseRoute

from laborcoop.gateway.forwarding import ForwardingRoute
from tests.deploy.manifests import K8S, PORT, Doc, kubectl, spec_of

COMPONENT = K8S / "components" / "direct-commands"
COMMANDS = {"POST", "PUT", "PATCH", "DELETE"}
OWNERS = ("registry", "agreements", "placements")


@pytest.fixture(scope="module")
def docs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Doc, ...]:
    """The prod overlay with the component, as an operator's overlay would add it."""
    root = tmp_path_factory.mktemp("direct-commands")
    (root / "kustomization.yaml").write_text(
        yaml.safe_dump(
            {
                "apiVersion": "kustomize.config.k8s.io/v1beta1",
                "kind": "Kustomization",
                "resources": [os.path.relpath(K8S / "overlays" / "prod", root)],
                "components": [os.path.relpath(COMPONENT, root)],
            }
        )
    )
    result = subprocess.run(  # noqa: S603 - a fixed command on paths of this repository
        [kubectl(), "kustomize", str(root)],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "KUBECONFIG": os.devnull},
    )
    assert result.returncode == 0, result.stderr
    return tuple(d for d in yaml.safe_load_all(result.stdout) if d)


def of_kind(docs: tuple[Doc, ...], kind: str) -> list[Doc]:
    return [d for d in docs if d["kind"] == kind]


def routes_of(routers: list[APIRouter]) -> Iterator[APIRoute]:
    def flat(routes: list[BaseRoute]) -> Iterator[BaseRoute]:
        for route in routes:
            included = getattr(route, "original_router", None)
            yield from flat(included.routes) if isinstance(included, APIRouter) else [route]

    for router in routers:
        yield from (r for r in flat(router.routes) if isinstance(r, APIRoute))


def sample(path: str) -> str:
    """A concrete path of a route's template (each parameter one segment)."""
    return "/".join("x" if part.startswith("{") else part for part in path.split("/"))


def where(docs: tuple[Doc, ...], method: str, path: str) -> str:
    """The backend the edge picks for a request, by Gateway API precedence: an exact path, then
    the longest prefix, then a rule that names the method."""
    candidates: list[tuple[tuple[bool, int, bool], str]] = []
    for route in of_kind(docs, "HTTPRoute"):
        if [p.get("sectionName") for p in route["spec"]["parentRefs"]] != ["https"]:
            continue
        for rule in route["spec"]["rules"]:
            [backend] = rule["backendRefs"]
            assert backend["port"] == PORT
            for match in rule["matches"]:
                kind, value = match["path"]["type"], match["path"]["value"]
                if "method" in match and match["method"] != method:
                    continue
                exact = kind == "Exact"
                if path == value or (not exact and path.startswith(value.rstrip("/") + "/")):
                    candidates.append(((exact, len(value), "method" in match), backend["name"]))
    assert candidates, f"{method} {path} reaches nothing"
    return max(candidates)[1]


@pytest.mark.parametrize("owner", OWNERS)
def test_every_command_of_an_owner_goes_straight_to_it_and_every_read_to_the_gateway(
    docs: tuple[Doc, ...], owner: str
) -> None:
    routes = list(routes_of(list(spec_of(owner).routers)))
    commands = [
        (m, r.path)
        for r in routes
        for m in (r.methods or set()) & COMMANDS
        if r.path.startswith("/v1")
    ]
    reads = [
        (m, r.path)
        for r in routes
        for m in (r.methods or set()) - COMMANDS
        if r.path.startswith("/v1")
    ]
    assert commands
    for method, path in commands:
        assert where(docs, method, sample(path)) == owner, f"{method} {path}"
    for method, path in reads:
        assert where(docs, method, sample(path)) == "gateway", f"{method} {path}"


def test_every_route_the_gateway_answers_itself_still_reaches_it(docs: tuple[Doc, ...]) -> None:
    own = [
        (method, route.path)
        for route in routes_of(list(spec_of("gateway").routers))
        if not isinstance(route, ForwardingRoute)
        for method in route.methods or set()
    ]
    assert ("GET", "/v1/brands") in own
    assert ("POST", "/v1/oauth/token") in own
    for method, path in [*own, ("GET", "/openapi.json")]:
        assert where(docs, method, sample(path)) == "gateway", f"{method} {path}"


def test_the_gateway_replaces_the_ingress_over_tls(docs: tuple[Doc, ...]) -> None:
    assert of_kind(docs, "Ingress") == []
    [gateway] = of_kind(docs, "Gateway")
    listeners = {listener["name"]: listener for listener in gateway["spec"]["listeners"]}
    assert listeners["https"]["tls"]["certificateRefs"] == [
        {"kind": "Secret", "name": "laborcoop-gateway-tls"}
    ]
    plain = [
        r for r in of_kind(docs, "HTTPRoute") if r["spec"]["parentRefs"][0]["sectionName"] == "http"
    ]
    assert [rule["filters"][0]["type"] for r in plain for rule in r["spec"]["rules"]] == [
        "RequestRedirect"
    ]
    for item in [gateway, *of_kind(docs, "HTTPRoute")]:
        assert item["metadata"]["namespace"] == "laborcoop"


def test_the_edge_reaches_the_services_on_their_api_port_only(docs: tuple[Doc, ...]) -> None:
    [policy] = [
        p for p in of_kind(docs, "NetworkPolicy") if p["metadata"]["name"] == "services-from-edge"
    ]
    [expression] = policy["spec"]["podSelector"]["matchExpressions"]
    assert set(expression["values"]) == {*OWNERS, "gateway"}
    [rule] = policy["spec"]["ingress"]
    assert rule["ports"] == [{"protocol": "TCP", "port": PORT}]
    assert rule["from"]
