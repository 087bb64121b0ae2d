"""``Idempotency-Key`` for commands: a retry with the same key gets the first response.

The key is claimed and the command's answer stored by the statement that writes the command's
rows (see :meth:`CommandRequest.execute`), so a command that fails leaves no key behind, and a
concurrent retry waits on the claim and then replays.
Keys belong to the whole calling principal (client, province, roles): a replay goes only to the
principal whose command stored it, which therefore passed the same authorization; anyone else
using the same key is in a key space of their own and their command runs (and is authorised)
for them. Reusing a key for a different request is a 422.
"""

import hashlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Final, TypeVar

from fastapi import Depends, Header, Request, Response
from pydantic import WithJsonSchema

from laborcoop.common.auth import CurrentPrincipal, Principal
from laborcoop.common.db import Connection, Pool
from laborcoop.common.deps import state_of
from laborcoop.common.errors import InvalidInput, Problem
from laborcoop.common.inputs import BODY, JsonRequest, decode_json
from laborcoop.common.settings import ServiceSettings
from laborcoop.common.unit_of_work import UnitOfWork, Write

T = TypeVar("T")

REPLAYED_HEADER: Final = "Idempotent-Replayed"
_KEPT_HEADERS: Final = ("content-type", "location", "etag")


@dataclass(frozen=True)
class CommandRequest:
    """One state-changing request: who sent it, where it runs, and its idempotency key."""

    principal: Principal
    pool: Pool
    settings: ServiceSettings
    key: str | None
    method: str
    path: str
    fingerprint: str

    @property
    def client_id(self) -> str:
        return self.principal.client_id

    @property
    def principal_scope(self) -> str:
        """What else, beside the client id, a replay must share: province and roles."""
        roles = ",".join(sorted(str(role) for role in self.principal.roles))
        return f"{self.principal.province or '-'}|{roles}"

    async def execute(
        self,
        work: Callable[[UnitOfWork], Awaitable[T]],
        render: Callable[[T], Response],
    ) -> Response:
        """Run ``work`` in one unit of work and answer its rendered result, or the stored answer
        of this key.

        The answer is rendered before anything is written, so the claim of the key and the
        answer it replays are written by the same statement as the command's rows and events.
        A retry runs ``work`` again without writing anything: its claim finds the key taken (or
        the command now fails, e.g. "already signed"), and the first answer is replayed.
        """
        async with self.pool.acquire() as conn:
            uow = UnitOfWork(conn, self.settings)
            try:
                response = render(await work(uow))
                claimed = await uow.commit(self._claim(response) if self.key else None)
            except Problem:
                await uow.rollback()
                if (replay := await self._replay(conn)) is not None:
                    return replay
                raise
            except BaseException:
                await uow.rollback()
                raise
            if claimed:
                return response
            replay = await self._replay(conn)
            assert replay is not None, "a claim found its key taken, so the key is stored"
            return replay

    def _claim(self, response: Response) -> Write:
        headers = {h: v for h in _KEPT_HEADERS if (v := response.headers.get(h)) is not None}
        return Write(
            """INSERT INTO idempotency_keys (client_id, principal, key, method, path, fingerprint,
                                            status, headers, body)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING RETURNING true""",
            (
                self.client_id,
                self.principal_scope,
                self.key,
                self.method,
                self.path,
                self.fingerprint,
                response.status_code,
                headers,
                bytes(response.body),
            ),
        )

    async def _replay(self, conn: Connection) -> Response | None:
        """The stored answer of this key, if it has one (422 when it was another request's)."""
        if self.key is None:
            return None
        stored = await conn.fetchrow(
            """SELECT method, path, fingerprint, status, headers, body FROM idempotency_keys
               WHERE client_id = $1 AND principal = $2 AND key = $3""",
            self.client_id,
            self.principal_scope,
            self.key,
        )
        if stored is None:
            return None
        if (stored["method"], stored["path"], stored["fingerprint"]) != (
            self.method,
            self.path,
            self.fingerprint,
        ):
            raise InvalidInput.field(
                "Idempotency-Key", "this key was already used for a different request", "reused"
            )
        headers = {**stored["headers"], REPLAYED_HEADER: "true"}
        return Response(stored["body"], status_code=stored["status"], headers=headers)


_KEY_MIN, _KEY_MAX = 8, 128

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=_KEY_MIN,
        max_length=_KEY_MAX,
        description="Unique per command; a retry with the same key returns the first answer.",
    ),
    # Optional, but never null: a client omits the header rather than sending "null".
    WithJsonSchema({"type": "string", "minLength": _KEY_MIN, "maxLength": _KEY_MAX}),
]


async def command_request(
    request: Request, principal: CurrentPrincipal, idempotency_key: IdempotencyKey = None
) -> CommandRequest:
    """The command's principal (its token verified first: a caller without a valid one gets
    401 whatever else is wrong), pool and key."""
    state = state_of(request.app)
    fingerprint = ""
    if idempotency_key is not None:
        fingerprint = hashlib.sha256(await _canonical(request)).hexdigest()
    return CommandRequest(
        principal=principal,
        pool=state.pool,
        settings=state.settings,
        key=idempotency_key,
        method=request.method,
        path=request.scope["path"],
        fingerprint=fingerprint,
    )


async def _canonical(request: Request) -> bytes:
    """The request as its key's fingerprint compares it: the body in a canonical form (key
    order and spacing make no different request) and its ``If-Match``, which decides the
    outcome too (the same body on another version is another request).

    JSON is decoded by :func:`decode_json` (bounded depth: a 422 naming ``body``, never a
    recursion error); a route that reads a JSON body has already decoded it, and that parse is
    reused. A body that is not JSON (on a route that reads none) is compared byte for byte.
    """
    precondition = request.headers.get("if-match")
    condition = b"" if precondition is None else b"\nIf-Match: " + precondition.encode("latin-1")
    return await _canonical_body(request) + condition


async def _canonical_body(request: Request) -> bytes:
    body = await request.body()
    try:
        if isinstance(request, JsonRequest):
            document = await request.json()
        else:
            document = decode_json(body, field=BODY)
    except json.JSONDecodeError:
        return body
    return json.dumps(document, sort_keys=True, separators=(",", ":")).encode()


Command = Annotated[CommandRequest, Depends(command_request)]


async def purge_expired(pool: Pool, ttl_hours: int) -> int:
    """Forget keys older than ``ttl_hours``; a retry after that runs the command again."""
    status: str = await pool.execute(
        "DELETE FROM idempotency_keys WHERE created_at < now() - make_interval(hours => $1)",
        ttl_hours,
    )
    return int(status.rsplit(maxsplit=1)[-1])
