"""The compatibility checker on modified copies of real payload models.

Each test derives a variant of a published model (a field removed, a type changed, an optional
field made required, an enum value removed, ...) and checks the variant's generated schema
against the schema of the models as they are: incompatible variants are reported naming the event
type and the JSON path of the field; compatible ones (a new optional field, a new type, a new
docstring) pass.
"""

import json
from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, create_model

from laborcoop.contracts.agreements import AgreementProposed, Party, Terms
from laborcoop.contracts.codes import PlacementStatus
from laborcoop.contracts.compatibility import Incompatibility, check, report
from laborcoop.contracts.events import EventSpec, spec_for
from laborcoop.contracts.placements import DemandPosted, PlacementProposed
from laborcoop.contracts.schemas import contract_schemas, main, payload_schema, published_schemas

PUBLISHED = contract_schemas()


def variant(
    model: type[BaseModel],
    *,
    drop: tuple[str, ...] = (),
    config: ConfigDict | None = None,
    doc: str | None = None,
    **fields: Any,
) -> type[BaseModel]:
    """A copy of ``model`` (same name, base and docstring) without ``drop`` and with ``fields``
    (name=(annotation, default or ...)) added or replaced."""
    definitions: dict[str, Any] = {
        name: (info.annotation, info)
        for name, info in model.model_fields.items()
        if name not in drop and name not in fields
    }
    definitions.update(fields)
    base = model.__bases__[0]
    if config is not None:
        base = type(f"{base.__name__}Configured", (base,), {"model_config": config})
    copy: type[BaseModel] = create_model(
        model.__name__, __base__=base, __doc__=doc or model.__doc__, **definitions
    )
    return copy


def with_variant(model: type[BaseModel], replacement: type[BaseModel]) -> dict[str, Any]:
    """The current contracts with ``model``'s type generated from ``replacement`` instead."""
    event_type: str = model.event_type  # type: ignore[attr-defined]
    spec = spec_for(event_type)
    assert spec is not None
    changed = EventSpec(type=spec.type, topic=spec.topic, payload=replacement)  # type: ignore[arg-type]
    return {**PUBLISHED, spec.type: payload_schema(changed)}


def findings_for(model: type[BaseModel], replacement: type[BaseModel]) -> list[str]:
    return [str(found) for found in check(PUBLISHED, with_variant(model, replacement))]


PROPOSED = "cn.laborcoop.placements.placement.proposed.v1"


def test_the_models_are_compatible_with_themselves() -> None:
    assert check(PUBLISHED, contract_schemas()) == []


def test_a_removed_field_is_named() -> None:
    found = findings_for(PlacementProposed, variant(PlacementProposed, drop=("occupation",)))
    assert found == [
        f"{PROPOSED}: $.occupation: removed (consumers of the published schema read it)"
    ]


def test_a_changed_type_is_named() -> None:
    found = findings_for(DemandPosted, variant(DemandPosted, headcount=(str, ...)))
    assert found == [
        "cn.laborcoop.placements.demand.posted.v1: $.headcount: type changed from integer to string"
    ]


def test_an_optional_field_made_required_is_named() -> None:
    annotation = PlacementProposed.model_fields["agreement_id"].annotation  # UUID | None
    required = variant(PlacementProposed, agreement_id=(annotation, ...))
    found = findings_for(PlacementProposed, required)
    assert (
        f"{PROPOSED}: $.agreement_id: newly required (events published before may lack it)" in found
    )
    assert all("$.agreement_id" in line for line in found), found


def test_a_removed_enum_value_is_named() -> None:
    fewer = StrEnum(  # type: ignore[misc]
        "PlacementStatus",
        {m.name: m.value for m in PlacementStatus if m is not PlacementStatus.RETURNED},
    )
    found = findings_for(PlacementProposed, variant(PlacementProposed, status=(fewer, ...)))
    assert found == [
        f'{PROPOSED}: $.status: enum values removed: ["returned"] (published events carry them)'
    ]


def test_an_added_enum_value_is_named_too() -> None:
    more = StrEnum(  # type: ignore[misc]
        "PlacementStatus", {**{m.name: m.value for m in PlacementStatus}, "PAUSED": "paused"}
    )
    found = findings_for(PlacementProposed, variant(PlacementProposed, status=(more, ...)))
    assert found == [
        f'{PROPOSED}: $.status: enum values added: ["paused"] '
        "(consumers of the published schema refuse them)"
    ]


def test_a_change_inside_nested_definitions_names_the_path() -> None:
    party = variant(Party, role=(str, ...))
    terms = variant(Terms, parties=(tuple[party, ...], ...))  # type: ignore[valid-type]
    found = findings_for(AgreementProposed, variant(AgreementProposed, terms=(terms, ...)))
    assert found == [
        "cn.laborcoop.agreements.agreement.proposed.v1: $.terms.parties[*].role: "
        'enum changed from ["sending", "receiving", "both"] to absent'
    ]


def test_a_nullable_field_made_non_null_is_a_type_change() -> None:
    found = findings_for(PlacementProposed, variant(PlacementProposed, brand_id=(str, None)))
    assert f"{PROPOSED}: $.brand_id: type changed from null|string to string" in found


def test_forbidding_unknown_fields_is_named() -> None:
    closed = variant(PlacementProposed, config=ConfigDict(extra="forbid"))
    assert findings_for(PlacementProposed, closed) == [
        f"{PROPOSED}: $: additionalProperties tightened: events carrying properties added "
        "later are refused"
    ]


def test_a_new_required_field_is_named() -> None:
    found = findings_for(PlacementProposed, variant(PlacementProposed, wage=(int, ...)))
    assert found == [
        f"{PROPOSED}: $.wage: added as required (events published before lack it); "
        "add it as optional"
    ]


def test_a_new_optional_field_passes() -> None:
    added = variant(PlacementProposed, note=(str | None, None), tags=(tuple[str, ...], ()))
    assert findings_for(PlacementProposed, added) == []


def test_a_new_docstring_passes() -> None:
    reworded = variant(PlacementProposed, doc="Reworded: annotations are not the contract.")
    assert findings_for(PlacementProposed, reworded) == []


def test_a_new_type_passes_and_a_removed_one_is_named() -> None:
    newer = {**PUBLISHED, "cn.laborcoop.placements.placement.paused.v1": {"type": "object"}}
    assert check(PUBLISHED, newer) == []
    fewer = {name: schema for name, schema in PUBLISHED.items() if name != PROPOSED}
    assert [f.path for f in check(PUBLISHED, fewer)] == ["$"]
    assert check(PUBLISHED, fewer)[0].contract == PROPOSED


def test_the_envelope_is_guarded_too() -> None:
    envelope = json.loads(json.dumps(PUBLISHED["cloudevent"]))
    envelope["properties"]["sequence"]["pattern"] = r"^\d+$"
    found = check(PUBLISHED, {**PUBLISHED, "cloudevent": envelope})
    assert [str(f) for f in found] == [
        r'cloudevent: $.sequence: pattern changed from "^\\d{20}$" to "^\\d+$"'
    ]


def test_recursive_definitions_end() -> None:
    tree = {
        "$defs": {
            "Node": {
                "type": "object",
                "properties": {
                    "children": {"type": "array", "items": {"$ref": "#/$defs/Node"}},
                    "parent": {"anyOf": [{"$ref": "#/$defs/Node"}, {"type": "null"}]},
                    "label": {"type": "string"},
                },
            }
        },
        "$ref": "#/$defs/Node",
    }
    relabelled = json.loads(json.dumps(tree))
    relabelled["$defs"]["Node"]["properties"]["label"] = {"type": "integer"}
    assert check({"tree": tree}, {"tree": tree}) == []
    assert check({"tree": tree}, {"tree": relabelled}) == [
        Incompatibility("tree", "$.label", "type changed from string to integer")
    ]


def test_the_report_names_every_field_and_the_way_out() -> None:
    text = report([Incompatibility(PROPOSED, "$.occupation", "removed")])
    assert f"{PROPOSED}: $.occupation: removed" in text
    assert "….v2" in text


def test_make_schemas_refuses_an_incompatible_generation(tmp_path: Path) -> None:
    """The published files stay as they are when the models would break them: the only way to
    publish an incompatible change is to delete the published file by hand, in review."""
    assert main([str(tmp_path)]) == 0
    published = tmp_path / f"{PROPOSED}.json"
    schema = json.loads(published.read_text(encoding="utf-8"))
    schema["properties"]["retired_field"] = {"type": "string"}  # as if the model dropped it
    published.write_text(json.dumps(schema), encoding="utf-8")
    stale = tmp_path / "asyncapi.json"
    stale.write_text("{}", encoding="utf-8")

    assert main([str(tmp_path)]) == 1
    assert json.loads(published.read_text(encoding="utf-8")) == schema
    assert stale.read_text(encoding="utf-8") == "{}"
    assert published_schemas(tmp_path)[PROPOSED] == schema

    published.unlink()  # the deliberate retirement of the published schema
    assert main([str(tmp_path)]) == 0
    assert published_schemas(tmp_path) == contract_schemas()
