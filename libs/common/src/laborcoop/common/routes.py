"""Route helpers every service uses: versioned answers and ``POST /{id}/<verb>`` commands."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from fastapi import APIRouter, Response
from pydantic import BaseModel

from laborcoop.common.errors import (
    Conflict,
    Forbidden,
    NotFound,
    PreconditionFailed,
    problem_responses,
)
from laborcoop.common.recording import RecordsEvents
from laborcoop.common.versioning import versioned

A = TypeVar("A", bound=RecordsEvents)
F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Representation(Generic[A]):
    """How one kind of aggregate is answered: ``body`` renders it, its version is the ``ETag``,
    and ``location`` (with ``{id}``) names it."""

    body: Callable[[A], BaseModel]
    location: str

    def answer(self, aggregate: A, status_code: int = 200) -> Response:
        return versioned(
            self.body(aggregate),
            version=aggregate.version,
            location=self.location.format(id=aggregate.id),
            status_code=status_code,
        )

    def created(self, aggregate: A) -> Response:
        return self.answer(aggregate, 201)


def command_route(
    router: APIRouter,
    verb: str,
    *,
    id_name: str,
    response_model: type[BaseModel],
    summary: str,
    description: str = "",
) -> Callable[[F], F]:
    """``POST /{<id_name>}/<verb>``: one command on one aggregate, answered with the aggregate
    (404 unknown, 403 not permitted, 409 not in this state, 412 stale ``If-Match``)."""
    return router.post(
        f"/{{{id_name}}}/{verb}",
        response_model=response_model,
        summary=summary,
        description=description,
        responses=problem_responses(Forbidden, NotFound, Conflict, PreconditionFailed),
    )
