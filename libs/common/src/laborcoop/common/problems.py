"""The problems a request may meet, as exceptions that carry their HTTP status.

Pure (no web framework): domain code raises them, and :mod:`laborcoop.common.errors` renders
them as RFC 9457 problem+json. Hierarchy (all subclasses of :class:`Problem`):

- ``BadRequest`` 400, ``InvalidInput`` 422 (with field errors) — the request itself is wrong;
- ``Unauthorized`` 401 — no valid bearer token; ``Forbidden`` 403 — the principal may not do this;
- ``NotFound`` 404 — absent, or not visible to the caller;
- ``Conflict`` 409 — the resource's state forbids the change (``InvalidState`` names the state);
- ``PreconditionFailed`` 412 / ``PreconditionRequired`` 428 — ``If-Match`` stale or missing;
- ``PayloadTooLarge`` 413; ``UnsupportedMediaType`` 415; ``TooManyRequests`` 429;
- ``ServiceUnavailable`` 503 (the request was not handled; retry later) and ``GatewayTimeout``
  504 (an upstream did not answer in time: the outcome is unknown).
"""

from collections.abc import Sequence
from http import HTTPStatus
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict


class FieldError(BaseModel):
    model_config = ConfigDict(frozen=True)

    field: str
    message: str
    code: str = "invalid"


class Problem(Exception):
    status: ClassVar[int] = 500
    slug: ClassVar[str] = "internal"

    def __init__(self, detail: str | None = None, **extensions: Any) -> None:
        super().__init__(detail or self.title)
        self.detail = detail
        self.extensions = extensions
        self.headers: dict[str, str] = {}

    @property
    def title(self) -> str:
        return HTTPStatus(self.status).phrase


class BadRequest(Problem):
    status, slug = 400, "bad-request"


class InvalidInput(Problem):
    status, slug = 422, "invalid-input"

    def __init__(self, errors: Sequence[FieldError], detail: str | None = None) -> None:
        super().__init__(detail or "; ".join(f"{e.field}: {e.message}" for e in errors))
        self.errors = list(errors)

    @classmethod
    def field(cls, field: str, message: str, code: str = "invalid") -> "InvalidInput":
        return cls([FieldError(field=field, message=message, code=code)])


class Unauthorized(Problem):
    status, slug = 401, "unauthorized"

    def __init__(self, detail: str | None = None) -> None:
        super().__init__(detail)
        self.headers["WWW-Authenticate"] = 'Bearer realm="laborcoop"'


class Forbidden(Problem):
    status, slug = 403, "forbidden"


class NotFound(Problem):
    status, slug = 404, "not-found"


class Conflict(Problem):
    status, slug = 409, "conflict"


class InvalidState(Conflict):
    """A transition the aggregate's current state does not allow."""

    slug = "invalid-state"

    def __init__(self, current_state: str, action: str) -> None:
        super().__init__(f"cannot {action} while {current_state}", current_state=current_state)


class PreconditionFailed(Problem):
    status, slug = 412, "precondition-failed"


class PreconditionRequired(Problem):
    status, slug = 428, "precondition-required"


class PayloadTooLarge(Problem):
    status, slug = 413, "payload-too-large"


class UnsupportedMediaType(Problem):
    status, slug = 415, "unsupported-media-type"

    @classmethod
    def json_only(cls, method: str) -> "UnsupportedMediaType":
        """A body that is not JSON on a route that reads JSON (``Accept-Post``/``-Patch`` say
        what it takes, RFC 9110 §15.5.16)."""
        problem = cls("send the body as application/json")
        if method in {"POST", "PATCH"}:
            problem.headers[f"Accept-{method.title()}"] = "application/json"
        return problem


class TooManyRequests(Problem):
    status, slug = 429, "too-many-requests"

    def __init__(self, retry_after_s: int) -> None:
        super().__init__(f"rate exceeded; retry after {retry_after_s} s")
        self.headers["Retry-After"] = str(retry_after_s)


class ServiceUnavailable(Problem):
    status, slug = 503, "unavailable"


class GatewayTimeout(Problem):
    status, slug = 504, "gateway-timeout"
