"""The settings tables of docs/operations.md, generated from the settings classes.

``python -m laborcoop.common.settings_doc docs/operations.md`` rewrites the block between
``<!-- settings:begin -->`` and ``<!-- settings:end -->``; a test compares the committed block with
a fresh generation, so a setting added, removed, re-described or given a new default without its
documentation fails the build (as ``laborcoop.contracts.schemas`` does for the event contract).
The text comes from the fields' descriptions; their bounds and defaults from the fields themselves.
"""

import importlib
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from pydantic import SecretStr
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from laborcoop.common.settings import (
    NOT_FROM_ENVIRONMENT,
    PUBLIC_DEFAULT,
    SERVICE_DATABASE_URL_DESCRIPTION,
    ServiceSettings,
    service_database_url_variable,
)

BEGIN = "<!-- settings:begin -->"
END = "<!-- settings:end -->"
COMMAND = "python -m laborcoop.common.settings_doc docs/operations.md"
NOTICE = (
    "<!-- generated from the settings classes by `"
    + COMMAND
    + "`: edit the fields' descriptions, not this block -->"
)
_HEADER = "| variable | default | meaning |\n|---|---|---|"


def service_classes() -> list[type[ServiceSettings]]:
    """Each service's settings class, found in ``laborcoop.<service>.settings``.

    Found rather than listed, because libs/common must not import the services: a new service
    is documented (and its table tested) without a change here.
    """
    namespace = importlib.import_module("laborcoop")
    names = sorted(
        {
            entry.name
            for root in namespace.__path__
            if Path(root).is_dir()
            for entry in Path(root).iterdir()
            if entry.name != "common" and (entry / "settings.py").is_file()
        }
    )
    return [cls for name in names for cls in _settings_classes(f"laborcoop.{name}.settings")]


def _settings_classes(module_name: str) -> list[type[ServiceSettings]]:
    module: ModuleType = importlib.import_module(module_name)
    return [
        value
        for value in vars(module).values()
        if isinstance(value, type)
        and issubclass(value, ServiceSettings)
        and value.__module__ == module_name
    ]


def render() -> str:
    """The block's content: the common table, then one table per service."""
    sections = [NOTICE, _common_section(), *(_service_section(cls) for cls in service_classes())]
    return "\n\n".join(sections)


def _common_section() -> str:
    fields = ServiceSettings.model_fields
    rows = [field_row(ServiceSettings, name) for name in fields if name not in NOT_FROM_ENVIRONMENT]
    fixed = [
        f"`{name}` has no variable. {_cell(_description(ServiceSettings, name))}"
        for name in fields
        if name in NOT_FROM_ENVIRONMENT
    ]
    return "\n\n".join(
        [
            f"Every service (`{_qualified(ServiceSettings)}`):",
            "\n".join([_HEADER, *rows]),
            *fixed,
        ]
    )


def _service_section(cls: type[ServiceSettings]) -> str:
    service = str(cls.model_fields["service_name"].default)
    variable = service_database_url_variable(service)
    own = SERVICE_DATABASE_URL_DESCRIPTION.format(variable=variable, service=service)
    rows = [f"| `{variable}` | — | {_cell(own)} |"]
    rows += [field_row(cls, name) for name in _own_fields(cls)]
    return "\n\n".join(
        [
            f"{service.capitalize()} (`{_qualified(cls)}`, service name `{service}`):",
            "\n".join([_HEADER, *rows]),
        ]
    )


def _own_fields(cls: type[ServiceSettings]) -> list[str]:
    """Fields the service adds, and common fields whose default it changes."""
    common = ServiceSettings.model_fields
    return [
        name
        for name, field in cls.model_fields.items()
        if name not in NOT_FROM_ENVIRONMENT
        and (name not in common or field.default != common[name].default)
    ]


def field_row(cls: type[ServiceSettings], name: str) -> str:
    """One table row: the variable, its default (a secret's only if public), what it does."""
    field = cls.model_fields[name]
    meaning = _description(cls, name)
    bounds = _bounds(field)
    if bounds:
        meaning = f"{meaning} Range: {bounds}."
    return f"| `{_variable(cls, name)}` | {_cell(_default(field))} | {_cell(meaning)} |"


def _description(cls: type[ServiceSettings], name: str) -> str:
    description = cls.model_fields[name].description
    if not description:
        raise ValueError(f"{_qualified(cls)}.{name} has no description: operators need one")
    return description


def _variable(cls: type[ServiceSettings], name: str) -> str:
    return f"{cls.model_config.get('env_prefix', '')}{name}".upper()


def _default(field: FieldInfo) -> str:
    value = field.default
    if value is PydanticUndefined:
        return "required"
    if value is None:
        return "—"
    if isinstance(value, SecretStr):
        return _secret_default(field, value)
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if value == "":
        return "empty"
    return f"`{value}`"


def _secret_default(field: FieldInfo, value: SecretStr) -> str:
    """A secret's default is shown only when the field says why it is public."""
    extra = field.json_schema_extra
    note = extra.get(PUBLIC_DEFAULT) if isinstance(extra, dict) else None
    if note is None:
        return "*(secret)*"
    return f"`{value.get_secret_value()}` ({note})"


def _bounds(field: FieldInfo) -> str:
    limits: dict[str, Any] = {}
    for item in field.metadata:
        for kind in ("ge", "gt", "le", "lt"):
            if getattr(item, kind, None) is not None:
                limits[kind] = getattr(item, kind)
    if "ge" in limits and "le" in limits:
        return f"{_number(limits['ge'])}–{_number(limits['le'])}"
    signs = {"ge": "≥", "gt": ">", "le": "≤", "lt": "<"}
    return ", ".join(f"{signs[kind]} {_number(limit)}" for kind, limit in limits.items())


def _number(value: Any) -> str:
    return f"{value:,}" if isinstance(value, int) else str(value)


def _cell(text: str) -> str:
    """One table cell: on one line, and a ``|`` does not end it."""
    return " ".join(text.split()).replace("|", "\\|")


def _qualified(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def committed_block(document: str) -> str:
    """What the document holds between the markers, without the lines that hold them."""
    start, end = _markers(document)
    return document[start + len(BEGIN) : end].strip("\n")


def replace_block(document: str, block: str) -> str:
    """The document with ``block`` between the markers (a blank line ends the last table)."""
    start, end = _markers(document)
    return f"{document[: start + len(BEGIN)]}\n{block}\n\n{document[end:]}"


def _markers(document: str) -> tuple[int, int]:
    start = document.find(BEGIN)
    end = document.find(END)
    if start < 0 or end < start:
        raise ValueError(f"no {BEGIN} … {END} block: add the two lines where the tables go")
    return start, end


def main(argv: list[str]) -> None:
    target = Path(argv[0] if argv else "docs/operations.md")
    document = target.read_text(encoding="utf-8")
    updated = replace_block(document, render())
    if updated != document:
        target.write_text(updated, encoding="utf-8")


if __name__ == "__main__":
    main(sys.argv[1:])
