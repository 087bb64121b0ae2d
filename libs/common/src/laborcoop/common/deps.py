"""The state the lifespan builds once, and the typed dependencies that hand it to routes.

The lifespan (``laborcoop.common.app``) sets one :class:`ServiceState` as ``app.state.service``;
routes reach its parts through ``Annotated`` dependencies (:data:`DbPool`, :func:`use_cases`),
never by a name of their own in ``app.state``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, Generic, TypeVar, cast

from fastapi import Depends, FastAPI, Request

from laborcoop.common.clock import Clock
from laborcoop.common.db import Pool
from laborcoop.common.settings import ServiceSettings

if TYPE_CHECKING:  # both import modules that import this one
    from laborcoop.common.auth import KeySet
    from laborcoop.common.workers import Workers

S = TypeVar("S", bound=ServiceSettings)
U = TypeVar("U")
T = TypeVar("T")


@dataclass(frozen=True)
class ServiceState(Generic[S, U]):
    """Everything the lifespan built for one app, set once before the first request."""

    settings: S
    pool: Pool
    clock: Clock
    keys: KeySet
    use_cases: U
    workers: Workers


def state_of(app: FastAPI) -> ServiceState[ServiceSettings, object]:
    """The app's :class:`ServiceState` (its lifespan has run)."""
    state = getattr(app.state, "service", None)
    if not isinstance(state, ServiceState):
        raise RuntimeError(f"{app.title}: no service state; has its lifespan run?")
    # the type as text: subscripting a generic class costs a typing lookup on every request
    return cast("ServiceState[ServiceSettings, object]", state)


async def _pool(request: Request) -> Pool:
    return state_of(request.app).pool


DbPool = Annotated[Pool, Depends(_pool)]


def use_cases(kind: type[U], part: Callable[[U], Any] | None = None) -> Any:
    """``Depends`` on the use-case object the service's ``build`` made, checked to be a ``kind``
    (use in ``Annotated``: ``Use = Annotated[Registry, use_cases(Registry)]``), or on the
    ``part`` of it that one aggregate's routes use (a service with several aggregates:
    ``use_cases(LabourExchange, lambda u: u.workers)``)."""

    async def get(request: Request) -> Any:
        use = state_of(request.app).use_cases
        if not isinstance(use, kind):
            raise TypeError(f"the use cases are a {type(use).__name__}, not a {kind.__name__}")
        return part(use) if part is not None else use

    return Depends(get)
