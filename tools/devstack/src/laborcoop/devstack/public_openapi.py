"""Writes the gateway's ``forwarded.json``: the owners' operations that the gateway forwards.

The gateway serves one OpenAPI document for the whole public API (``laborcoop.gateway.openapi``)
without importing the owning services or asking them at run time, so their part is generated
here, in development, where all four may be imported, and committed as package data of the
gateway. ``make openapi`` runs ``python -m laborcoop.devstack.public_openapi``; a test compares
the committed file with a fresh generation.

Which operations: each operation of each owner's own document (its ``create_app().openapi()``)
is routed through the gateway's app as a request would be — the first route whose path and
method match wins. When that is one of the gateway's forwarding routes, its endpoint is called
with owners that record where the request would go and send nothing; the operation is forwarded
when it goes to that owner, at that path. So the forwarding routes themselves are the table, and
a list the gateway answers from a view (``GET /v1/agreements``) stays the gateway's own. An
operation the gateway documents itself (``POST /v1/brands``) stays the gateway's too.

What each forwarded operation says: the owner's operation (parameters, body, examples,
answers), the gateway's token requirement (the gateway verifies the token before forwarding),
the gateway's own answers (503: the owner was not reached; 504: its answer did not come back),
and ``x-laborcoop-owner``. The component schemas the operations reach are merged: a name every
service that has it gives the same schema is kept; a name given different schemas (the
agreements' and the placements' ``Decline``) is renamed after each owner
(``AgreementsDecline``), references included, unless the gateway itself holds the name with
that schema; a renamed one that is taken already stops the generation.
"""

import asyncio
import json
import sys
from collections.abc import Iterator, Mapping, MutableMapping
from contextlib import suppress
from copy import deepcopy
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Final, cast

from fastapi import FastAPI
from starlette.requests import Request
from starlette.routing import BaseRoute, Match

from laborcoop.agreements.app import create_app as create_agreements
from laborcoop.agreements.settings import AgreementsSettings
from laborcoop.common.app import create_service_app
from laborcoop.common.clock import utc_now
from laborcoop.common.deps import ServiceState
from laborcoop.common.errors import GatewayTimeout, ServiceUnavailable, problem_responses
from laborcoop.common.middleware import routes_in_order
from laborcoop.devstack.config import REPO_ROOT
from laborcoop.gateway.api import forwarded_responses
from laborcoop.gateway.app import SPEC as GATEWAY
from laborcoop.gateway.forwarding import ForwardingRoute, Upstreams, UpstreamUnavailable
from laborcoop.gateway.openapi import (
    FORWARDED_FILE,
    OWNER_EXTENSION,
    TOKEN_REQUIRED,
    merged,
    operations,
)
from laborcoop.gateway.settings import GatewaySettings
from laborcoop.gateway.upstream import NotSent, OwnerAnswer, ReadChunk
from laborcoop.placements.app import create_app as create_placements
from laborcoop.placements.protection import Keyring
from laborcoop.placements.settings import PlacementsSettings
from laborcoop.registry.app import create_app as create_registry
from laborcoop.registry.settings import RegistrySettings

OUTPUT: Final = REPO_ROOT / "services/gateway/src/laborcoop/gateway/openapi" / FORWARDED_FILE
SCHEMA_REF: Final = "#/components/schemas/"
GATEWAY_ANSWERS: Final = ("401", "503", "504")
"""Answers the gateway gives a forwarded request itself (a 401 before anything is sent)."""
_SAFE: Final = frozenset({"get", "head", "options"})
_PROBE_SEGMENT: Final = "probe"
_ENVIRONMENT: Final = "development"
"""Whatever the shell says: the documents do not depend on it, production's checks would stop."""


class GenerationError(RuntimeError):
    """The forwarded operations cannot be documented as they are: fix the cause, not the file."""


def owner_documents() -> dict[str, dict[str, Any]]:
    """Each owning service's OpenAPI document, by the name the gateway forwards to it under.
    The documents depend on no setting; placements only refuses to start without keys."""
    keys = Keyring.generate("openapi").render_settings().items()
    placements_keys: dict[str, Any] = {
        name.removeprefix("LABORCOOP_").lower(): value for name, value in keys
    }
    return {
        "registry": create_registry(RegistrySettings(environment=_ENVIRONMENT)).openapi(),
        "agreements": create_agreements(AgreementsSettings(environment=_ENVIRONMENT)).openapi(),
        "placements": create_placements(
            PlacementsSettings(environment=_ENVIRONMENT, **placements_keys)
        ).openapi(),
    }


def gateway_app() -> FastAPI:
    """The gateway's app with FastAPI's document of its own routes, without the forwarded part
    (the file this module writes)."""
    settings = GatewaySettings(environment=_ENVIRONMENT)
    return create_service_app(replace(GATEWAY, openapi=None), settings)


# -- which operations the gateway forwards ---------------------------------------------------


@dataclass
class _Recorder:
    """An owner that notes where the gateway sends a request and sends nothing."""

    name: str
    sent: list[tuple[str, bytes]]

    async def send(
        self,
        method: str,
        target: bytes,
        headers: list[tuple[bytes, bytes]],
        *,
        length: int | None,
        read: ReadChunk | None,
    ) -> OwnerAnswer:
        self.sent.append((self.name, target))
        raise NotSent("only recorded")

    async def aclose(self) -> None:
        """Nothing was opened."""


@dataclass(frozen=True)
class _ProbeUses:
    """The one use case forwarding reads (``GatewayUses.upstreams``)."""

    upstreams: Upstreams


def _probing(app: FastAPI, owners: list[str], sent: list[tuple[str, bytes]]) -> None:
    """Give ``app`` the state its forwarding endpoints read: recording owners, nothing else
    (no pool, keys or workers: a forwarding endpoint reads none of them)."""
    uses = _ProbeUses(Upstreams({name: _Recorder(name, sent) for name in owners}))
    nothing = cast(Any, None)
    app.state.service = ServiceState(
        settings=GatewaySettings(environment=_ENVIRONMENT),
        pool=nothing,
        clock=utc_now,
        keys=nothing,
        use_cases=uses,
        workers=nothing,
    )


def concrete(path: str) -> str:
    """A request path for the path template ``path`` (each parameter a fixed segment)."""
    parts = path.split("/")
    return "/".join(_PROBE_SEGMENT if p.startswith("{") and p.endswith("}") else p for p in parts)


def route_for(
    app: FastAPI, method: str, path: str
) -> tuple[BaseRoute, MutableMapping[str, Any]] | None:
    """The route that takes ``method path`` (the first matching both, as the router picks)."""
    scope = {"type": "http", "method": method, "path": path, "root_path": ""}
    for route in routes_in_order(app.router.routes):
        match, child = route.matches(scope)
        if match is Match.FULL:
            return route, child
    return None


async def _destination(
    app: FastAPI, method: str, path: str, sent: list[tuple[str, bytes]]
) -> tuple[str, bytes] | None:
    """Where the gateway sends ``method path`` (owner, target), or None: it answers itself."""
    found = route_for(app, method, path)
    if found is None:
        return None
    route, child = found
    if not isinstance(route, ForwardingRoute):
        return None
    params: dict[str, Any] = child.get("path_params", {})
    scope = {"type": "http", "method": method, "path": path, "headers": [], "query_string": b""}
    request = Request({**scope, "app": app, "path_params": params})
    sent.clear()
    with suppress(UpstreamUnavailable):  # what the recording owners' NotSent becomes
        await route.endpoint(request=request, principal=None, **params)
    if len(sent) != 1:
        raise GenerationError(f"{method} {path}: the forwarding route sent {len(sent)} requests")
    return sent[0]


async def forwarded_operations(
    gateway: FastAPI, owners: Mapping[str, Mapping[str, Any]]
) -> list[tuple[str, str, str]]:
    """(owner, path, method) of every owner operation a request to the gateway reaches."""
    sent: list[tuple[str, bytes]] = []
    _probing(gateway, list(owners), sent)
    forwarded = []
    for owner, document in owners.items():
        for path, method, _ in operations(document):
            request_path = concrete(path)
            destination = await _destination(gateway, method.upper(), request_path, sent)
            if destination is None or destination[0] != owner:
                continue  # the gateway answers it, or another owner does
            if destination[1] != request_path.encode():
                raise GenerationError(
                    f"{method.upper()} {path} is forwarded to {owner} as "
                    f"{destination[1].decode()!r}; only an unchanged path can be documented"
                )
            forwarded.append((owner, path, method))
    return forwarded


# -- what each forwarded operation says ------------------------------------------------------


def gateway_answers() -> dict[str, dict[str, Any]]:
    """The gateway's own answers to a forwarded command (``post``) and read (``get``), as its
    document renders them, with the component schemas they use under ``components``."""
    app = FastAPI()

    @app.post("/command", responses=forwarded_responses())
    async def command() -> None:
        """A forwarded command."""

    @app.get("/read", responses=problem_responses(ServiceUnavailable, GatewayTimeout))
    async def read() -> None:
        """A forwarded read."""

    document = app.openapi()
    return {
        "post": document["paths"]["/command"]["post"]["responses"],
        "get": document["paths"]["/read"]["get"]["responses"],
        "components": document["components"]["schemas"],
    }


def references(node: Any) -> Iterator[str]:
    """The component schema names ``node`` refers to, directly."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith(SCHEMA_REF):
            yield ref.removeprefix(SCHEMA_REF)
        for value in node.values():
            yield from references(value)
    elif isinstance(node, list):
        for value in node:
            yield from references(value)


def reachable(roots: list[Any], schemas: Mapping[str, Any]) -> dict[str, Any]:
    """The component schemas ``roots`` refer to, directly or through each other."""
    found: dict[str, Any] = {}
    pending = [name for root in roots for name in references(root)]
    while pending:
        name = pending.pop()
        if name in found:
            continue
        if name not in schemas:
            raise GenerationError(f"component schema {name!r} is referred to but not defined")
        found[name] = schemas[name]
        pending.extend(references(schemas[name]))
    return found


def renamed_refs(node: Any, names: Mapping[str, str]) -> Any:
    """``node`` with its references to ``names`` pointing at their new names."""
    if isinstance(node, dict):
        out = {key: renamed_refs(value, names) for key, value in node.items()}
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.removeprefix(SCHEMA_REF) in names:
            out["$ref"] = SCHEMA_REF + names[ref.removeprefix(SCHEMA_REF)]
        return out
    if isinstance(node, list):
        return [renamed_refs(value, names) for value in node]
    return node


def renames(
    used: Mapping[str, Mapping[str, Any]], own: Mapping[str, Any]
) -> dict[str, dict[str, str]]:
    """Per owner, the schemas to rename: a name that another owner, or the gateway, gives a
    different schema (the gateway's keeps its name)."""
    result: dict[str, dict[str, str]] = {owner: {} for owner in used}
    taken = set(own).union(*(set(schemas) for schemas in used.values()))
    names = sorted(set().union(*(set(schemas) for schemas in used.values())))
    for name in names:
        holders = {owner: schemas[name] for owner, schemas in used.items() if name in schemas}
        variants = {json.dumps(schema, sort_keys=True) for schema in holders.values()}
        if name in own:
            clashing = [owner for owner, schema in holders.items() if schema != own[name]]
        else:
            clashing = list(holders) if len(variants) > 1 else []
        for owner in clashing:
            new_name = owner.capitalize() + name
            if new_name in taken:
                raise GenerationError(
                    f"component schema {name!r} of {owner} clashes, and {new_name!r} is taken"
                )
            taken.add(new_name)
            result[owner][name] = new_name
    return result


def _forwarded_operation(
    owner: str, method: str, operation: Mapping[str, Any], answers: Mapping[str, Any]
) -> dict[str, Any]:
    documented = deepcopy(dict(operation))
    gateway = answers["get" if method in _SAFE else "post"]
    responses: dict[str, Any] = documented.setdefault("responses", {})
    for status in GATEWAY_ANSWERS:
        responses.setdefault(status, deepcopy(gateway[status]))
    documented["responses"] = dict(sorted(responses.items()))
    documented["security"] = deepcopy(TOKEN_REQUIRED)
    documented[OWNER_EXTENSION] = owner
    return documented


def forwarded_document(
    own: Mapping[str, Any],
    owners: Mapping[str, Mapping[str, Any]],
    forwarded: list[tuple[str, str, str]],
) -> dict[str, Any]:
    """The forwarded operations with the tags and component schemas they use; ``own`` is the
    gateway's document (its operations and schema names come first)."""
    answers = gateway_answers()
    own_paths = own.get("paths", {})
    chosen = [
        (owner, path, method)
        for owner, path, method in forwarded
        if method not in own_paths.get(path, {})
    ]
    ops: dict[str, list[tuple[str, str, dict[str, Any]]]] = {owner: [] for owner in owners}
    for owner, path, method in chosen:
        operation = owners[owner]["paths"][path][method]
        ops[owner].append((path, method, _forwarded_operation(owner, method, operation, answers)))
    used = {
        owner: reachable(
            [operation for _, _, operation in owner_ops],
            {**answers["components"], **owners[owner].get("components", {}).get("schemas", {})},
        )
        for owner, owner_ops in ops.items()
    }
    new_names = renames(used, own.get("components", {}).get("schemas", {}))
    paths: dict[str, dict[str, Any]] = {}
    schemas: dict[str, Any] = {}
    for owner, owner_ops in ops.items():
        names = new_names[owner]
        for path, method, operation in owner_ops:
            paths.setdefault(path, {})[method] = renamed_refs(operation, names)
        for name, schema in used[owner].items():
            schemas[names.get(name, name)] = renamed_refs(schema, names)
    return {
        "x-generated": "by `make openapi` (python -m laborcoop.devstack.public_openapi) from the "
        "owning services' documents and the gateway's forwarding routes; do not edit",
        "paths": paths,
        "tags": _tags(paths, owners),
        "components": {"schemas": dict(sorted(schemas.items()))},
    }


def _tags(paths: Mapping[str, Any], owners: Mapping[str, Mapping[str, Any]]) -> list[Any]:
    """The owners' tag descriptions of the tags the forwarded operations carry."""
    used = {tag for item in paths.values() for op in item.values() for tag in op.get("tags", [])}
    tags: dict[str, Any] = {}
    for document in owners.values():
        for tag in document.get("tags", []):
            if tag["name"] in used:
                tags.setdefault(tag["name"], tag)
    return list(tags.values())


def generate() -> str:
    """The content of ``forwarded.json``, checked to merge with the gateway's own document."""
    gateway = gateway_app()
    own = gateway.openapi()
    owners = owner_documents()
    forwarded = asyncio.run(forwarded_operations(gateway, owners))
    document = forwarded_document(own, owners, forwarded)
    merged(own, document)  # a clash left over stops the generation here, not the gateway
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str]) -> None:
    """Write the file (to ``argv[0]`` when given)."""
    target = Path(argv[0]) if argv else OUTPUT
    target.write_text(generate(), encoding="utf-8")
    print(f"wrote {target}")


if __name__ == "__main__":
    main(sys.argv[1:])
