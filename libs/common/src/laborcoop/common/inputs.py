"""Untrusted input: the building blocks of every public API model (docs/design.md §6) — no
unknown fields, no coercion of types that would hide a client's mistake, text in NFC without
control characters — and the one strict decoder of JSON from clients (bodies, cursors,
idempotency fingerprints). Named apart from the services' ``api.py`` (their routes)."""

import json
import re
import unicodedata
from collections.abc import Callable, Coroutine, Iterable, Iterator
from datetime import date
from itertools import accumulate
from typing import Annotated, Any, Final

from fastapi import APIRouter, Request, Response, params
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict
from starlette.routing import BaseRoute

from laborcoop.common.errors import (
    BODY_PROBLEMS,
    FieldError,
    InvalidInput,
    UnsupportedMediaType,
    problem_responses,
)
from laborcoop.common.versioning import REQUIRED_IF_MATCH_PARAMETER, required_if_match


class ApiModel(BaseModel):
    """Request and response bodies: snake_case JSON; a request with an unknown field is a 422."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, allow_inf_nan=False)


_ALLOWED_CONTROLS: Final = frozenset("\t\n\r")
_INVISIBLE: Final = frozenset({"Cc", "Cf", "Zs", "Zl", "Zp"})


def _nfc(value: str) -> str:
    """NFC text that PostgreSQL can store and a person can read."""
    if any(unicodedata.category(c) == "Cc" and c not in _ALLOWED_CONTROLS for c in value):
        raise ValueError("control characters are not allowed")
    if value and all(unicodedata.category(c) in _INVISIBLE for c in value):
        raise ValueError("text must contain visible characters")
    return unicodedata.normalize("NFC", value)


NfcText = Annotated[str, AfterValidator(_nfc)]
"""Text stored and compared in Unicode normalisation form C."""


def _whole_number(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError("must be a whole number (not a string, boolean or decimal)")
    return value


WholeNumber = Annotated[int, BeforeValidator(_whole_number)]
"""An integer as JSON writes it: ``"15000"``, ``true`` and ``15000.0`` are refused."""

_ISO_DATE: Final = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _calendar_date(value: Any) -> Any:
    if isinstance(value, date) or (isinstance(value, str) and _ISO_DATE.match(value)):
        return value
    raise ValueError("must be a date written YYYY-MM-DD")


CalendarDate = Annotated[date, BeforeValidator(_calendar_date)]
"""A calendar day written ``YYYY-MM-DD`` (no timestamps, no numbers)."""


# --- JSON from clients -------------------------------------------------------------------------

MAX_JSON_DEPTH: Final = 32
"""Arrays and objects nested deeper than this are refused: no API document needs more, and a
bounded depth keeps every later walk of the document (validation, canonical form) far from
Python's recursion limit."""

_JSON_STRING: Final = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')
_NOT_BRACKETS: Final = bytes(b for b in range(256) if b not in b"[]{}")
_STEP: Final = [0] * 256
_STEP[ord("[")] = _STEP[ord("{")] = 1
_STEP[ord("]")] = _STEP[ord("}")] = -1


class _DuplicateKey(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    document = dict(pairs)
    if len(document) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _DuplicateKey(key)
            seen.add(key)
    return document


def _deeper_than(raw: bytes, max_depth: int) -> bool:
    """Whether valid JSON ``raw`` nests arrays/objects deeper than ``max_depth``: strings are
    cut out, and the running depth over the brackets left is computed in C (regex, translate,
    map, accumulate), so a megabyte of brackets costs milliseconds, not a Python loop."""
    if raw.count(b"[") + raw.count(b"{") <= max_depth:
        return False
    brackets = _JSON_STRING.sub(b"", raw).translate(None, _NOT_BRACKETS)
    return max(accumulate(map(_STEP.__getitem__, brackets)), default=0) > max_depth


BODY: Final = "body"


def _too_deep(field: str, max_depth: int) -> InvalidInput:
    return InvalidInput.field(
        field, f"nested deeper than {max_depth} arrays or objects", "json_too_deep"
    )


def decode_json(
    raw: bytes | str, *, field: str, max_depth: int = MAX_JSON_DEPTH, max_bytes: int | None = None
) -> Any:
    """The one decoder of JSON from clients: bounded in size and depth, duplicate keys refused.

    A refusal is an :class:`~laborcoop.common.errors.InvalidInput` (422) naming ``field``; a key
    repeated in a request body is named itself, as the body's other field errors are. Text that
    is not JSON at all raises :class:`json.JSONDecodeError`, so a caller that may meet other
    text (an idempotency fingerprint) can tell the two apart.
    """
    data = raw.encode() if isinstance(raw, str) else raw
    if max_bytes is not None and len(data) > max_bytes:
        raise InvalidInput.field(field, f"longer than {max_bytes} bytes", "too_long")
    try:
        # JSON exchanged between systems is UTF-8 (RFC 8259 §8.1): json.loads would also guess
        # UTF-16 or UTF-32 from bytes, so the text is decoded here, strictly.
        document = json.loads(data.decode("utf-8"), object_pairs_hook=_unique_keys)
    except UnicodeDecodeError as exc:
        raise json.JSONDecodeError("not UTF-8 text", repr(data[:64]), exc.start) from None
    except _DuplicateKey as exc:
        raise InvalidInput.field(
            exc.key if field == BODY else field,
            f"the key {exc.key!r} appears more than once in one object",
            "duplicate_key",
        ) from None
    except RecursionError:
        raise _too_deep(field, max_depth) from None
    except json.JSONDecodeError:
        raise
    except ValueError:  # an integer of more digits than Python converts (4,300)
        raise InvalidInput.field(field, "a number has too many digits", "too_long") from None
    if _deeper_than(data, max_depth):
        raise _too_deep(field, max_depth)
    return document


def _is_json_media_type(content_type: str | None) -> bool:
    """JSON, in UTF-8: a ``charset`` parameter other than UTF-8 is another media type here (a
    415), not one to decode as UTF-8 regardless."""
    if not content_type:
        return False
    media, *parameters = (part.strip().lower() for part in content_type.split(";"))
    charsets = [p.partition("=")[2].strip('" ') for p in parameters if p.startswith("charset=")]
    if any(charset not in ("utf-8", "utf8") for charset in charsets):
        return False
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )


class JsonRequest(Request):
    """A request whose ``json()`` is :func:`decode_json`: parsed once, strictly, then cached."""

    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = decode_json(await self.body(), field=BODY)
        return self._json


def _takes_json(route: APIRoute) -> bool:
    return route.body_field is not None and not isinstance(route.body_field.field_info, params.Form)


_BODY_RESPONSES: Final[dict[int | str, dict[str, Any]]] = {
    status: response
    for status, response in problem_responses(body=True).items()
    if status in {problem.status for problem in BODY_PROBLEMS}
}


async def forwards_its_query() -> None:
    """A dependency that marks a route sending its query string on, unchanged, to the service
    that owns the resource (the gateway's forwarding routes): the owner declares the parameters
    and refuses the ones it does not know, so such a route declares none and refuses none.

    A marker is ``async``, as every dependency should be: FastAPI runs a plain ``def`` in a
    worker thread, a hop on every request for nothing."""


async def streams_its_body() -> None:
    """A dependency that marks a route reading its request body itself, as a stream
    (``request.stream()``), in a media type of its own (a bulk import's NDJSON).

    Such a route declares no body parameter, so :class:`JsonRoute` neither parses its body nor
    answers 415 for it: the route checks the media type itself and documents its body with
    ``openapi_extra``. The app's body limit (``max_body_bytes``) does not apply to it either
    (:func:`streamed_routes`): it never holds the whole body, and bounds what it reads itself
    (so many lines, each so long)."""


def streamed_routes(routes: Iterable[BaseRoute]) -> list[APIRoute]:
    """The routes among ``routes`` (and those of the routers they include) that
    :func:`streams_its_body`. Each matches a request by the path it was declared with: the app
    factory includes routers without a prefix."""
    found: list[APIRoute] = []
    for route in routes:
        if isinstance(route, APIRoute) and _depends_on(route.dependant, streams_its_body):
            found.append(route)
        included = getattr(route, "original_router", None)
        if isinstance(included, APIRouter):
            found += streamed_routes(included.routes)
    return found


def _declared_query(route: APIRoute) -> frozenset[str] | None:
    """The query parameter names ``route`` declares (its own and its dependencies'), or
    ``None`` for a route that :func:`forwards_its_query`. Parameters of an ``include_router``
    dependency are not seen: the app factory includes routers without dependencies."""
    if _depends_on(route.dependant, forwards_its_query):
        return None
    return frozenset(_query_names(route.dependant))


def _query_names(dependant: Dependant) -> Iterator[str]:
    for parameter in dependant.query_params:
        model = parameter.field_info.annotation
        if isinstance(model, type) and issubclass(model, BaseModel):  # a query parameter model
            yield from (field.alias or name for name, field in model.model_fields.items())
        else:
            yield parameter.alias
    for sub in dependant.dependencies:
        yield from _query_names(sub)


def _refuse_undeclared_query(request: Request, declared: frozenset[str]) -> None:
    """A 422 naming each query parameter the route does not declare, as an unknown body field
    is refused (:class:`ApiModel`): a misspelt or unsupported filter silently ignored would
    answer an unfiltered list that looks like a filtered one."""
    unknown = request.query_params.keys() - declared
    if not unknown:
        return
    takes = f"it takes {', '.join(sorted(declared))}" if declared else "it takes none"
    raise InvalidInput(
        [
            FieldError(
                field=name,
                message=f"not a query parameter of this operation ({takes})",
                code="unknown_parameter",
            )
            for name in sorted(unknown)
        ]
    )


class JsonRoute(APIRoute):
    """A route whose JSON body is parsed by :func:`decode_json` before FastAPI reads it, and
    whose query string holds only the parameters it declares.

    A route that takes a JSON body answers 415 for a body of another media type and a 422
    naming ``body`` (or the repeated key) for JSON that is malformed, too deep or ambiguous.
    The parse is cached on the request, so FastAPI's own ``request.json()`` and the idempotency
    fingerprint reuse it: one decoding per request. A query parameter the route does not
    declare is a 422 naming it (``unknown_parameter``); the declared names are computed once,
    when the handler is built, so a request costs one set difference.
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()
        takes_json = _takes_json(self)
        declared_query = _declared_query(self)

        async def strict_handler(request: Request) -> Response:
            strict = JsonRequest(request.scope, request.receive)
            if declared_query is not None and request.scope.get("query_string"):
                _refuse_undeclared_query(strict, declared_query)
            if takes_json:
                await _read_json_body(strict)
            return await handle(strict)

        return strict_handler


async def _read_json_body(request: JsonRequest) -> None:
    if not await request.body():
        return  # FastAPI names a missing body as a field error
    if not _is_json_media_type(request.headers.get("content-type")):
        raise UnsupportedMediaType.json_only(request.method)
    try:
        await request.json()
    except json.JSONDecodeError as exc:
        raise InvalidInput.field(
            BODY, f"not valid JSON: {exc.msg} (at character {exc.pos})", "json_invalid"
        ) from None


def _depends_on(dependant: Dependant, call: Callable[..., Any]) -> bool:
    return any(sub.call is call or _depends_on(sub, call) for sub in dependant.dependencies)


def use_json_routes(router: APIRouter) -> None:
    """Make every plain ``APIRoute`` of ``router`` (and of routers it includes) a
    :class:`JsonRoute`. Services declare routes on ``APIRouter(prefix=...)`` at import time, and
    FastAPI builds each included route's handler from the route's own class, so the class is
    changed in place before the app includes the router. Calling it again changes nothing.

    It also documents what such routes answer: 400/415/422 where a JSON body is read, and the
    ``If-Match`` header as required where a route depends on ``RequiredIfMatch``."""
    for route in router.routes:
        if type(route) is APIRoute:
            route.__class__ = JsonRoute
            if _takes_json(route):
                route.responses = {**_BODY_RESPONSES, **route.responses}
            if _depends_on(route.dependant, required_if_match):
                extra = route.openapi_extra or {}
                parameters = [*extra.get("parameters", []), REQUIRED_IF_MATCH_PARAMETER]
                route.openapi_extra = {**extra, "parameters": parameters}
        included = getattr(route, "original_router", None)
        if isinstance(included, APIRouter):
            use_json_routes(included)
