"""One table description per aggregate, derived once from the aggregate's dataclass.

Each stored attribute is a column of the same name; the attributes of a nested dataclass named in
``flatten`` are columns of their own (a brand's ``attributes``). An attribute's type says how it
is written and read: an enum as its value, a pydantic model as JSON, a tuple as an array,
``dict[str, datetime]`` as JSON of ISO timestamps, anything else as asyncpg converts it. An
attribute stored another way names its own :class:`Codec` (one attribute in two columns, say);
``derived`` columns are written from the aggregate for queries and indexes and never read back;
``transient`` attributes (the events recorded but not yet saved) live only in memory.
Adding an attribute to the aggregate therefore adds its column here with no further edit: the
migration that creates the column is the only other change.
"""

import types
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from datetime import datetime
from enum import Enum
from typing import Any, Generic, TypeVar, Union, get_args, get_origin, get_type_hints

import asyncpg
from pydantic import BaseModel

A = TypeVar("A")
Convert = Callable[[Any], Any]


@dataclass(frozen=True)
class Codec:
    """How one attribute is stored: in which columns, written by ``dump`` (one value a column)
    and read back by ``load`` (from those columns' values, in order)."""

    columns: tuple[str, ...]
    dump: Callable[[Any], tuple[Any, ...]]
    load: Callable[..., Any]


def _identity(value: Any) -> Any:
    return value


def _optional(convert: Convert) -> Convert:
    return lambda value: None if value is None else convert(value)


def _converters(hint: Any) -> tuple[Convert, Convert]:
    """(to the column, from the column) for an attribute of type ``hint``."""
    origin, args = get_origin(hint), get_args(hint)
    if origin in (Union, types.UnionType) and type(None) in args:
        inner = [a for a in args if a is not type(None)]
        dump, load = _converters(inner[0] if len(inner) == 1 else Any)
        return _optional(dump), _optional(load)
    if isinstance(hint, type) and issubclass(hint, Enum):
        return (lambda value: value.value), hint
    if isinstance(hint, type) and issubclass(hint, BaseModel):
        return (lambda value: value.model_dump(mode="json")), hint.model_validate
    if origin is tuple:
        dump_item, load_item = _converters(args[0])
        return (lambda v: [dump_item(x) for x in v]), (lambda v: tuple(load_item(x) for x in v))
    if origin is dict and args[1:] == (datetime,):
        return (
            lambda stamps: {key: at.isoformat() for key, at in stamps.items()},
            lambda stamps: {key: datetime.fromisoformat(at) for key, at in stamps.items()},
        )
    return _identity, _identity


def column(name: str, hint: Any) -> Codec:
    """The codec of an attribute stored in one column of its own name."""
    dump, load = _converters(hint)
    return Codec((name,), lambda value: (dump(value),), load)


@dataclass(frozen=True)
class _Attribute:
    """One attribute of the aggregate (or of a flattened part) and how it is stored."""

    name: str
    codec: Codec
    part: str | None = None


class Table(Generic[A]):
    """The columns of aggregate type ``kind`` in table ``name``; ``id`` is the primary key."""

    def __init__(
        self,
        kind: type[A],
        name: str,
        *,
        flatten: Mapping[str, type[Any]] | None = None,
        codecs: Mapping[str, Codec] | None = None,
        derived: Mapping[str, Callable[[A], Any]] | None = None,
        immutable: frozenset[str] = frozenset({"id", "created_at"}),
        transient: frozenset[str] = frozenset({"pending_events"}),
    ) -> None:
        self.kind = kind
        self.name = name
        self._flatten = dict(flatten or {})
        self._codecs = dict(codecs or {})
        self._derived = dict(derived or {})
        self._transient = transient
        self._attributes = self._describe(kind, part=None)
        stored = [c for a in self._attributes for c in a.codec.columns]
        self.columns: tuple[str, ...] = (*stored, *self._derived)
        self.readable: tuple[str, ...] = tuple(stored)
        self.mutable: tuple[str, ...] = tuple(c for c in self.columns if c not in immutable)

    def _describe(self, kind: type[Any], part: str | None) -> list[_Attribute]:
        hints = get_type_hints(kind)
        described: list[_Attribute] = []
        for f in fields(kind):
            if f.name in self._flatten:
                described += self._describe(self._flatten[f.name], part=f.name)
            elif f.name not in self._transient:
                codec = self._codecs.get(f.name) or column(f.name, hints[f.name])
                described.append(_Attribute(f.name, codec, part))
        return described

    def values(self, aggregate: A) -> dict[str, Any]:
        """Every column's value for ``aggregate``, in :attr:`columns` order."""
        row: dict[str, Any] = {}
        for attribute in self._attributes:
            owner = getattr(aggregate, attribute.part) if attribute.part else aggregate
            written = attribute.codec.dump(getattr(owner, attribute.name))
            row.update(zip(attribute.codec.columns, written, strict=True))
        for name, compute in self._derived.items():
            row[name] = compute(aggregate)
        return row

    def load(self, row: "Mapping[str, Any] | asyncpg.Record") -> A:
        """The aggregate a row (with at least :attr:`readable` columns) holds."""
        top: dict[str, Any] = {}
        parts: dict[str, dict[str, Any]] = {name: {} for name in self._flatten}
        for attribute in self._attributes:
            value = attribute.codec.load(*(row[c] for c in attribute.codec.columns))
            (parts[attribute.part] if attribute.part else top)[attribute.name] = value
        for name, kind in self._flatten.items():
            top[name] = kind(**parts[name])
        return self.kind(**top)
