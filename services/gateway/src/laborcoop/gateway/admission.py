"""What every request to the gateway passes before its route: the client's rate, and whether its
client was disabled.

An ASGI layer (``ServiceSpec.admission``) inside the trace context and the metrics — so its
refusals carry a ``trace_id`` and are counted — and outside the body limit and every route, the
forwarding ones included, so it costs the same everywhere and is never forgotten by a new route.
For each request except the probes and metrics (:data:`EXEMPT`), in this order:

1. a bearer token that verifies (``KeySet.verify``) names the caller, its client id, and its
   principal is left in the scope for the route (``auth.VERIFIED_PRINCIPAL``: not verified
   twice); one that does not is left to the route to refuse (401), and the caller is then the
   source address, as for a request without a token;
2. a token of a disabled client is refused at once: 401 ``invalid_token``
   (:mod:`laborcoop.gateway.identity.disabled`);
3. the caller's rate (:mod:`laborcoop.gateway.limits`): past it, 429 with ``Retry-After``.
"""

from dataclasses import dataclass
from typing import Final

from starlette.types import ASGIApp, Receive, Scope, Send

from laborcoop.common.auth import VERIFIED_PRINCIPAL, KeySet
from laborcoop.common.deps import state_of
from laborcoop.common.errors import Problem, TooManyRequests, Unauthorized, problem_answer
from laborcoop.common.principal import Principal
from laborcoop.gateway.identity.disabled import DisabledClients
from laborcoop.gateway.limits import RateLimit

EXEMPT: Final = frozenset({"/healthz", "/readyz", "/metrics"})
"""Paths that are neither limited nor checked: the orchestrator's probes and Prometheus."""

_AUTHORIZATION: Final = b"authorization"
_BEARER: Final = b"bearer "


class ClientDisabled(Unauthorized):
    """A token of a client an operator disabled: refused before it expires (RFC 6750 §3.1
    ``invalid_token``: the client must not retry with it)."""

    def __init__(self) -> None:
        super().__init__("the client of this token was disabled: its tokens are refused")
        self.headers["WWW-Authenticate"] = (
            'Bearer realm="laborcoop", error="invalid_token", '
            'error_description="the client was disabled"'
        )


@dataclass(frozen=True)
class Admission:
    """The gateway's admission rules: the rate limit and the disabled clients of this replica."""

    rate: RateLimit
    disabled: DisabledClients

    def refusal(self, scope: Scope, keys: KeySet) -> Problem | None:
        """Why the request is refused, or None when it may go on (module docstring: the order).
        A token is taken from the caller's bucket only when the request goes on."""
        principal = _verified(scope, keys)
        if principal is None:
            address = scope.get("client")
            caller = "address " + (address[0] if address else "unknown")
        elif principal.client_id in self.disabled:
            return ClientDisabled()
        else:
            scope[VERIFIED_PRINCIPAL] = principal
            caller = "client " + principal.client_id
        wait = self.rate.take(caller)
        return TooManyRequests(wait) if wait is not None else None

    async def aclose(self) -> None:
        await self.disabled.aclose()


def _verified(scope: Scope, keys: KeySet) -> Principal | None:
    """The principal of the request's bearer token when it verifies, else None."""
    for name, value in scope["headers"]:
        if name == _AUTHORIZATION:
            if value[:7].lower() != _BEARER:
                return None
            try:
                return keys.verify(value[7:].strip().decode("latin-1"))
            except Problem:  # the route refuses it (401) with the reason
                return None
    return None


class AdmissionMiddleware:
    """The ASGI layer applying the app's :class:`Admission` (found in its use cases once the
    lifespan has run) to every request but those of :data:`EXEMPT`."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in EXEMPT:
            await self.app(scope, receive, send)
            return
        state = state_of(scope["app"])
        admission = getattr(state.use_cases, "admission", None)
        if not isinstance(admission, Admission):
            raise TypeError("the gateway's use cases hold its Admission")
        refusal = admission.refusal(scope, state.keys)
        if refusal is not None:
            await problem_answer(refusal, scope["path"])(scope, receive, send)
            return
        await self.app(scope, receive, send)
