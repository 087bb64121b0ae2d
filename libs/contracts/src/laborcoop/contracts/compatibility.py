"""Is a new generation of the event contract backward compatible with the published one?

The published JSON Schemas (``docs/events/*.json``, minus ``asyncapi.json``, which is derived from
them) are the baseline; the schemas the models generate now are the candidate. Within a major
version (``….v1``) both directions must keep working, because events live on in Kafka:

- a consumer built against the baseline reads events produced now (so no field it knows may be
  removed, change type, stop being required or gain a value it has not seen), and
- a consumer built now reads events published under the baseline, e.g. when it replays a topic
  (so no field may become required, and no value the baseline allowed may be refused).

The only compatible changes are therefore a new optional property (where the baseline allows
properties it does not name), a new event type, and edits of annotations (``title``,
``description``, ``examples``, ``$comment``, ``deprecated``) or of ``$defs`` names. Everything else
that differs is reported, naming the contract (the event type, or ``cloudevent`` for the envelope)
and the JSON path of the field (``$.terms.parties[*].role``). In particular:

- ``enum``: removing a value refuses published events; adding one makes consumers of the
  published schema (the pydantic models of the installed ``laborcoop-contracts``) refuse new
  events. A code list inside a payload is frozen within a major version.
- ``format``, ``pattern``, ``const``, length, range and item-count bounds: any change. Narrowing
  refuses published events; widening sends consumers of the published schema values they refuse.
- ``default``: any change, because it changes what an event without the field means.
- ``additionalProperties``: tightening (from allowed to forbidden or constrained) refuses events
  carrying fields added later; loosening is compatible.
- A type removed from the candidate: breaking. A type stays published until its major's
  deprecation window is over; retiring it is a deliberate, reviewed deletion of its published file.

This module is pure: it compares dictionaries. ``laborcoop.contracts.schemas`` feeds it the files
and the fresh generation (``make schemas`` refuses to overwrite the published files with an
incompatible generation), and ``libs/contracts/tests/test_published_schemas.py`` runs it in
``make test``.
"""

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

Schema = Mapping[str, Any]
# One alternative of a schema, with the $ref it was reached by (None when inline).
_Branch = tuple[str | None, Schema]

# Keywords that document a schema and never change what it accepts.
_ANNOTATIONS: Final = frozenset(
    {
        "title",
        "description",
        "examples",
        "$comment",
        "$id",
        "$schema",
        "$defs",
        "definitions",
        "deprecated",
        "readOnly",
        "writeOnly",
    }
)
# Keywords compared structurally (or by branch) rather than by equality.
_STRUCTURAL: Final = frozenset(
    {
        "type",
        "anyOf",
        "oneOf",
        "allOf",
        "$ref",
        "default",
        "properties",
        "required",
        "additionalProperties",
        "items",
        "prefixItems",
    }
)


@dataclass(frozen=True, slots=True)
class Incompatibility:
    """One change of a published contract that breaks a consumer of one side or the other."""

    contract: str
    path: str
    problem: str

    def __str__(self) -> str:
        return f"{self.contract}: {self.path}: {self.problem}"


def check(
    published: Mapping[str, Schema], candidate: Mapping[str, Schema]
) -> list[Incompatibility]:
    """Every incompatibility of ``candidate`` with ``published`` (both: contract name -> schema).

    A contract only in ``candidate`` is new, which is compatible.
    """
    found: list[Incompatibility] = []
    for name in sorted(published):
        if name not in candidate:
            found.append(
                Incompatibility(
                    name,
                    "$",
                    "published contract removed: a type is published until its major version's "
                    "deprecation window is over (then delete its published schema on purpose)",
                )
            )
            continue
        found.extend(_Comparison(name, published[name], candidate[name]).run())
    return found


def report(found: Iterable[Incompatibility]) -> str:
    """The incompatibilities one per line, for a test failure or the generator's refusal."""
    lines = [f"  {finding}" for finding in found]
    return (
        f"{len(lines)} backward-incompatible change(s) of the published event contract:\n"
        + "\n".join(lines)
        + "\nWithin a major version a payload may only gain optional fields. Publish the change "
        "as a new type (….v2) beside the old one instead (docs/events.md, Versioning rules)."
    )


@dataclass
class _Comparison:
    contract: str
    published_root: Schema
    candidate_root: Schema
    found: list[Incompatibility] = field(default_factory=list)
    # Pairs of $refs already compared, so recursive definitions end.
    compared_refs: set[tuple[str, str]] = field(default_factory=set)

    def run(self) -> list[Incompatibility]:
        self.node(self.published_root, self.candidate_root, "$")
        return self.found

    def flag(self, path: str, problem: str) -> None:
        self.found.append(Incompatibility(self.contract, path, problem))

    def node(self, published: Any, candidate: Any, path: str) -> None:
        """Compare two schemas of the same place in an event."""
        old = _resolve(self.published_root, published)
        new = _resolve(self.candidate_root, candidate)
        if old.get("default", _ABSENT) != new.get("default", _ABSENT):
            self.flag(
                path, f"default changed from {_show(old, 'default')} to {_show(new, 'default')}"
            )
        self.branches(
            _branches(self.published_root, _ref_of(published), old),
            _branches(self.candidate_root, _ref_of(candidate), new),
            path,
        )

    def branches(self, published: list[_Branch], candidate: list[_Branch], path: str) -> None:
        """Match the alternatives of both sides by their JSON type, then compare each pair."""
        old_kinds = [_kind(branch) for _, branch in published]
        new_kinds = [_kind(branch) for _, branch in candidate]
        if sorted(old_kinds) != sorted(new_kinds):
            self.flag(path, f"type changed from {_types(old_kinds)} to {_types(new_kinds)}")
        for kind in sorted(set(old_kinds) & set(new_kinds)):
            olds = [b for b, k in zip(published, old_kinds, strict=True) if k == kind]
            news = [b for b, k in zip(candidate, new_kinds, strict=True) if k == kind]
            for (old_ref, old), (new_ref, new) in zip(olds, news, strict=False):
                if self.seen(old_ref, new_ref):
                    continue
                self.branch(old, new, path)

    def seen(self, published_ref: str | None, candidate_ref: str | None) -> bool:
        """Whether this pair of definitions was compared already (recursive models end here)."""
        if published_ref is None or candidate_ref is None:
            return False
        pair = (published_ref, candidate_ref)
        if pair in self.compared_refs:
            return True
        self.compared_refs.add(pair)
        return False

    def branch(self, published: Schema, candidate: Schema, path: str) -> None:
        """Compare two alternatives of the same JSON type."""
        self.keywords(published, candidate, path)
        if "properties" in published or "properties" in candidate or _kind(published) == "object":
            self.object(published, candidate, path)
        if _kind(published) == "array":
            self.array(published, candidate, path)
        old_all, new_all = published.get("allOf", []), candidate.get("allOf", [])
        if len(old_all) != len(new_all):
            self.flag(path, "allOf changed")
        for old, new in zip(old_all, new_all, strict=False):
            self.node(old, new, path)

    def keywords(self, published: Schema, candidate: Schema, path: str) -> None:
        for keyword in sorted((set(published) | set(candidate)) - _ANNOTATIONS - _STRUCTURAL):
            old, new = published.get(keyword, _ABSENT), candidate.get(keyword, _ABSENT)
            if old == new:
                continue
            if keyword == "enum" and old is not _ABSENT and new is not _ABSENT:
                self.enum(list(old), list(new), path)
            else:
                self.flag(
                    path,
                    f"{keyword} changed from {_show(published, keyword)} "
                    f"to {_show(candidate, keyword)}",
                )

    def enum(self, published: list[Any], candidate: list[Any], path: str) -> None:
        removed = [value for value in published if value not in candidate]
        added = [value for value in candidate if value not in published]
        if removed:
            self.flag(path, f"enum values removed: {_json(removed)} (published events carry them)")
        if added:
            self.flag(
                path,
                f"enum values added: {_json(added)} "
                "(consumers of the published schema refuse them)",
            )

    def object(self, published: Schema, candidate: Schema, path: str) -> None:
        old_props: Mapping[str, Any] = published.get("properties", {})
        new_props: Mapping[str, Any] = candidate.get("properties", {})
        old_required = set(published.get("required", ()))
        new_required = set(candidate.get("required", ()))
        old_extra = _additional(published)
        for name in old_props:
            if name not in new_props:
                self.flag(_child(path, name), "removed (consumers of the published schema read it)")
            else:
                self.node(old_props[name], new_props[name], _child(path, name))
        for name in new_props:
            if name in old_props:
                continue
            if old_extra is False:
                self.flag(
                    _child(path, name),
                    "added where the published schema forbids properties it does not name",
                )
            elif isinstance(old_extra, Mapping):
                self.node(old_extra, new_props[name], _child(path, name))
        for name in sorted(new_required - old_required):
            self.flag(
                _child(path, name),
                "newly required (events published before may lack it)"
                if name in old_props or name not in new_props
                else "added as required (events published before lack it); add it as optional",
            )
        for name in sorted((old_required - new_required) & set(new_props)):
            self.flag(
                _child(path, name),
                "no longer required (consumers of the published schema rely on it)",
            )
        self.additional(old_extra, _additional(candidate), path)

    def additional(self, published: Any, candidate: Any, path: str) -> None:
        if published is False or (published is True and candidate is True):
            return  # (equal schemas may still $ref definitions that differ)
        if isinstance(published, Mapping) and isinstance(candidate, Mapping):
            self.node(published, candidate, f"{path}.*")
        elif candidate is not True:
            self.flag(
                path,
                "additionalProperties tightened: events carrying properties added later are "
                "refused",
            )

    def array(self, published: Schema, candidate: Schema, path: str) -> None:
        old_prefix: list[Any] = list(published.get("prefixItems", []))
        new_prefix: list[Any] = list(candidate.get("prefixItems", []))
        if len(old_prefix) != len(new_prefix):
            self.flag(
                path, f"tuple length changed from {len(old_prefix)} to {len(new_prefix)} items"
            )
        for index, (old, new) in enumerate(zip(old_prefix, new_prefix, strict=False)):
            self.node(old, new, f"{path}[{index}]")
        old_items, new_items = published.get("items", True), candidate.get("items", True)
        if not (old_items is True and new_items is True):
            self.node(_schema(old_items), _schema(new_items), f"{path}[*]")


class _Absent:
    def __repr__(self) -> str:
        return "absent"


_ABSENT: Final = _Absent()


def _ref_of(schema: Any) -> str | None:
    return schema.get("$ref") if isinstance(schema, Mapping) else None


def _resolve(root: Schema, schema: Any) -> Schema:
    """``schema`` with local ``$ref``s and single-member ``allOf``s replaced by their target,
    keeping sibling keywords (pydantic puts ``default`` beside a ``$ref``)."""
    resolved: Schema = _schema(schema)
    for _ in range(64):  # a chain of refs, never a cycle of plain refs in generated schemas
        if "$ref" in resolved:
            target = _pointer(root, resolved["$ref"])
            siblings = {k: v for k, v in resolved.items() if k != "$ref"}
            resolved = {**target, **siblings}
        elif len(resolved.get("allOf", ())) == 1:
            siblings = {k: v for k, v in resolved.items() if k != "allOf"}
            resolved = {**_schema(resolved["allOf"][0]), **siblings}
        else:
            return resolved
    raise ValueError(f"$ref chain too long near {resolved.get('$ref')}")


def _pointer(root: Schema, ref: str) -> Schema:
    if not ref.startswith("#"):
        raise ValueError(f"only local $refs are supported, not {ref}")
    node: Any = root
    for part in ref.lstrip("#").split("/")[1:]:
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return _schema(node)


def _schema(value: Any) -> Schema:
    """A boolean schema as its object form (``true`` accepts anything)."""
    if value is True:
        return {}
    if value is False:
        return {"not": {}}
    return dict(value)


def _branches(root: Schema, ref: str | None, schema: Schema) -> list[_Branch]:
    """The alternatives of a schema, each with the ``$ref`` it came from: the members of
    ``anyOf``/``oneOf`` (nested ones flattened, each resolved), or one per entry of a ``type``
    list, or the schema itself."""
    for keyword in ("anyOf", "oneOf"):
        if keyword in schema:
            siblings = {k: v for k, v in schema.items() if k not in (keyword, "default")}
            alternatives: list[_Branch] = []
            for member in schema[keyword]:
                resolved = _resolve(root, member)
                alternatives.extend(_branches(root, _ref_of(member), {**siblings, **resolved}))
            return alternatives
    types = schema.get("type")
    if isinstance(types, list):
        return [(None, {**schema, "type": each}) for each in types]
    return [(ref, schema)]


_JSON_TYPES: Final = (
    (bool, "boolean"),
    (int, "integer"),
    (float, "number"),
    (str, "string"),
    (list, "array"),
    (dict, "object"),
)


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    return next(name for python, name in _JSON_TYPES if isinstance(value, python))


def _kind(schema: Schema) -> str:
    """The JSON type one alternative accepts (``any`` when it does not say)."""
    if isinstance(schema.get("type"), str):
        return str(schema["type"])
    if "const" in schema:
        return _json_type(schema["const"])
    if "enum" in schema:
        kinds = {_json_type(value) for value in schema["enum"]}
        return kinds.pop() if len(kinds) == 1 else "mixed"
    if "properties" in schema or "additionalProperties" in schema:
        return "object"
    if "items" in schema or "prefixItems" in schema:
        return "array"
    return "any"


def _additional(schema: Schema) -> Any:
    value = schema.get("additionalProperties", True)
    return True if value == {} else value


def _child(path: str, name: str) -> str:
    return f"{path}.{name}" if name.isidentifier() else f"{path}[{json.dumps(name)}]"


def _types(kinds: list[str]) -> str:
    return "|".join(sorted(kinds)) or "nothing"


def _show(schema: Schema, keyword: str) -> str:
    return _json(schema[keyword]) if keyword in schema else "absent"


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)
