"""Problems rendered as RFC 9457 problem+json: the handlers, and what each route documents.

The problem classes themselves (``Problem`` and its hierarchy) live in the pure module
:mod:`laborcoop.common.problems`, so that domain code can raise them; they are re-exported here.
Every response carries ``trace_id`` so an operator can find the request's trace and logs.
"""

import logging
from collections.abc import Sequence
from http import HTTPStatus
from typing import Any, Final

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException
from starlette.routing import Match

from laborcoop.common.problems import (
    BadRequest,
    Conflict,
    FieldError,
    Forbidden,
    GatewayTimeout,
    InvalidInput,
    InvalidState,
    NotFound,
    PayloadTooLarge,
    PreconditionFailed,
    PreconditionRequired,
    Problem,
    ServiceUnavailable,
    TooManyRequests,
    Unauthorized,
    UnsupportedMediaType,
)
from laborcoop.common.telemetry import current_trace_id

__all__ = [
    "BODY_PROBLEMS",
    "PROBLEM_JSON",
    "BadRequest",
    "Conflict",
    "FieldError",
    "Forbidden",
    "GatewayTimeout",
    "InvalidInput",
    "InvalidState",
    "NotFound",
    "PayloadTooLarge",
    "PreconditionFailed",
    "PreconditionRequired",
    "Problem",
    "ProblemDocument",
    "ServiceUnavailable",
    "TooManyRequests",
    "Unauthorized",
    "UnsupportedMediaType",
    "install_problem_handlers",
    "problem_answer",
    "problem_response",
    "problem_responses",
    "validation_errors",
]

PROBLEM_JSON: Final = "application/problem+json"
TYPE_BASE: Final = "https://laborcoop.cn/problems/"

log = logging.getLogger(__name__)


class ProblemDocument(BaseModel):
    """The body of every error response (documented in each route's ``responses``)."""

    type: str
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    trace_id: str | None = None
    errors: list[FieldError] = []
    current_state: str | None = None


def problem_response(
    status: int,
    *,
    slug: str,
    title: str | None = None,
    detail: str | None = None,
    instance: str | None = None,
    errors: Sequence[FieldError] = (),
    headers: dict[str, str] | None = None,
    **extensions: Any,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": TYPE_BASE + slug,
        "title": title or HTTPStatus(status).phrase,
        "status": status,
        "trace_id": current_trace_id(),
    }
    if detail:
        body["detail"] = detail
    if instance:
        body["instance"] = instance
    if errors:
        body["errors"] = [e.model_dump() for e in errors]
    body.update(extensions)
    return JSONResponse(body, status_code=status, headers=headers, media_type=PROBLEM_JSON)


def _field_path(loc: Sequence[int | str]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in {"body", "query", "path", "header"}:
        parts = parts[1:] or parts
    return ".".join(parts)


def validation_errors(exc: RequestValidationError) -> list[FieldError]:
    return [
        FieldError(field=_field_path(e["loc"]), message=e["msg"], code=e["type"])
        for e in exc.errors()
    ]


def problem_answer(exc: Problem, instance: str) -> JSONResponse:
    """The answer to a raised :class:`Problem` (what the app's handler renders, and what a
    :class:`~laborcoop.common.middleware.DirectRoute` answers when it raises one)."""
    return problem_response(
        exc.status,
        slug=exc.slug,
        title=exc.title,
        detail=exc.detail,
        instance=instance,
        errors=getattr(exc, "errors", ()),
        headers=exc.headers or None,
        **exc.extensions,
    )


async def _on_problem(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, Problem)
    return problem_answer(exc, request.url.path)


async def _on_validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = validation_errors(exc)
    return problem_response(
        422,
        slug=InvalidInput.slug,
        detail="; ".join(f"{e.field}: {e.message}" for e in errors),
        instance=request.url.path,
        errors=errors,
    )


_METHODS: Final = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def _allowed_methods(request: Request) -> str:
    """Every method some route of the app answers on this path (RFC 9110 §15.5.6): the router
    stops at the first route that matches the path, whose ``Allow`` names only its own."""
    scope = request.scope
    allowed = [
        method
        for method in _METHODS
        if any(
            route.matches({**scope, "method": method})[0] is Match.FULL
            for route in request.app.router.routes
        )
    ]
    return ", ".join(allowed)


async def _on_http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    headers = dict(exc.headers) if exc.headers else {}
    if exc.status_code == 405:
        headers["Allow"] = _allowed_methods(request) or headers.get("Allow", "")
    return problem_response(
        exc.status_code,
        slug=HTTPStatus(exc.status_code).phrase.lower().replace(" ", "-"),
        detail=str(exc.detail) if exc.detail else None,
        instance=request.url.path,
        headers=headers or None,
    )


async def _on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error", extra={"path": request.url.path})
    return problem_response(500, slug="internal", instance=request.url.path)


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(Problem, _on_problem)
    app.add_exception_handler(RequestValidationError, _on_validation)
    app.add_exception_handler(HTTPException, _on_http)
    app.add_exception_handler(Exception, _on_unexpected)


BODY_PROBLEMS: Final[tuple[type[Problem], ...]] = (BadRequest, UnsupportedMediaType, InvalidInput)
"""What a route with a JSON body may answer for the body itself: 400 (it could not be read),
415 (not JSON), 422 (malformed, too deep, a repeated key, or invalid fields)."""


def problem_responses(
    *problems: type[Problem], body: bool = False
) -> dict[int | str, dict[str, Any]]:
    """The ``responses=`` of a route: each problem it may answer, as problem+json
    (``body=True`` adds :data:`BODY_PROBLEMS`; the app factory adds them to every route that
    reads a JSON body)."""
    kinds: tuple[type[Problem], ...] = (*problems, InvalidInput, Unauthorized)
    if body:
        kinds += BODY_PROBLEMS
    statuses = sorted({kind.status for kind in kinds})
    return {
        status: {
            "model": ProblemDocument,
            "description": HTTPStatus(status).phrase,
            "content": {PROBLEM_JSON: {}},
        }
        for status in statuses
    }
