"""FastAPI dependencies over what the lifespan built and keeps in ``app.state``."""

from collections.abc import Callable, Coroutine
from typing import Annotated, Any, TypeVar, cast

from fastapi import Depends, Request

from laborcoop.common.db import Pool

T = TypeVar("T")


def from_state(name: str, kind: type[T]) -> Any:
    """``Depends`` on ``app.state.<name>``, built once at start-up (use in ``Annotated``)."""

    async def get(request: Request) -> T:
        return cast(T, getattr(request.app.state, name))

    getter: Callable[[Request], Coroutine[Any, Any, T]] = get
    return Depends(getter)


DbPool = Annotated[Pool, from_state("pool", Pool)]
