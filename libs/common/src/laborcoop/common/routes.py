"""Route helpers every service uses: versioned answers, lists, ``POST /{id}/<verb>`` commands
and ``GET /{id}/history``."""

from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Annotated, Any, Generic, Literal, Protocol, TypeVar
from uuid import UUID

from fastapi import APIRouter, Path, Response
from fastapi.params import Depends
from pydantic import BaseModel

from laborcoop.common import history
from laborcoop.common.auth import CurrentPrincipal
from laborcoop.common.db import Connection
from laborcoop.common.deps import DbPool
from laborcoop.common.errors import (
    Conflict,
    Forbidden,
    NotFound,
    PreconditionFailed,
    PreconditionRequired,
    problem_responses,
)
from laborcoop.common.history import HistoryEntry
from laborcoop.common.pagination import Cursor, Limit, Page
from laborcoop.common.principal import Principal
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


class HistoryOf(Protocol):
    """The use cases of an aggregate with a history (``Registry``, ``Agreements``)."""

    async def history_types(
        self, conn: Connection, principal: Principal, subject: UUID
    ) -> Collection[str] | None:
        """404 unless ``principal`` may see the aggregate; the event types it may see of its
        past (``None``: every one)."""
        ...


def history_route(router: APIRouter, *, id_name: str, noun: str, name: str, use: Depends) -> None:
    """``GET /{<id_name>}/history``: the aggregate's events, oldest first, a page at a time.

    The same for every aggregate: the use cases (``use``, a ``use_cases`` dependency) say
    whether the caller sees the aggregate (404 otherwise) and which of its events; the page is
    read in the same connection. ``name`` is the route's name (and its OpenAPI operation)."""

    async def endpoint(
        subject: Annotated[UUID, Path(alias=id_name, description=f"The {noun}'s id")],
        principal: CurrentPrincipal,
        pool: DbPool,
        cases: Annotated[HistoryOf, use],
        limit: Limit = 50,
        cursor: Cursor = None,
    ) -> Page[HistoryEntry]:
        async with pool.acquire() as conn:
            types = await cases.history_types(conn, principal, subject)
            return await history.page(conn, subject, cursor=cursor, limit=limit, types=types)

    router.get(
        f"/{{{id_name}}}/history",
        response_model=Page[HistoryEntry],
        summary=f"The {noun}'s events, oldest first",
        responses=problem_responses(NotFound),
        name=name,
    )(endpoint)


@dataclass(frozen=True)
class AggregateRoutes:
    """The routes of one kind of aggregate under ``router``: ``/{<id_name>}`` names one, answered
    as ``response_model``. Each method is the decorator of one kind of route, so that every
    service declares (and documents the problems of) its lists, reads, edits, commands and
    history alike."""

    router: APIRouter
    id_name: str
    noun: str
    response_model: type[BaseModel]

    def listing(self, page_model: type[Page[Any]], summary: str) -> Callable[[F], F]:
        """``GET ""``: one page (``page_model``, the ``Page[…]`` of ``response_model``); a list
        names no one resource, so it has no problem beyond the 401/422 of every route."""
        return self.router.get(
            "", response_model=page_model, summary=summary, responses=problem_responses()
        )

    def one(self, summary: str) -> Callable[[F], F]:
        """``GET /{id}``: one aggregate with its ``ETag`` (404 absent or not visible)."""
        return self.router.get(
            f"/{{{self.id_name}}}",
            response_model=self.response_model,
            summary=summary,
            responses=problem_responses(NotFound),
        )

    def edit(
        self, method: Literal["patch", "put"], summary: str, description: str
    ) -> Callable[[F], F]:
        """``PATCH`` or ``PUT /{id}``: new attributes or terms, always with ``If-Match`` (428)."""
        route = self.router.patch if method == "patch" else self.router.put
        return route(
            f"/{{{self.id_name}}}",
            response_model=self.response_model,
            summary=summary,
            description=description,
            responses=problem_responses(
                Forbidden, NotFound, Conflict, PreconditionFailed, PreconditionRequired
            ),
        )

    def command(self, verb: str, summary: str, description: str = "") -> Callable[[F], F]:
        """``POST /{id}/<verb>``: see :func:`command_route`."""
        return command_route(
            self.router,
            verb,
            id_name=self.id_name,
            response_model=self.response_model,
            summary=summary,
            description=description,
        )

    def history(self, *, name: str, use: Depends) -> None:
        """``GET /{id}/history``: see :func:`history_route`."""
        history_route(self.router, id_name=self.id_name, noun=self.noun, name=name, use=use)
