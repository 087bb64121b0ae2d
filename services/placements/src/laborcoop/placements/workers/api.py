"""The workers routes: registered and kept by their origin province, shown to others masked
unless the worker consented, every read in the clear audited."""

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Path, Query, Response

from laborcoop.common.auth import CurrentPrincipal, Principal
from laborcoop.common.deps import DbPool, use_cases
from laborcoop.common.errors import Conflict, Forbidden, InvalidInput, NotFound, problem_responses
from laborcoop.common.idempotency import Command
from laborcoop.common.pagination import Cursor, Limit, Page, cursor_id, decode_cursor, page_of
from laborcoop.common.routes import AggregateRoutes, Representation
from laborcoop.common.versioning import IfMatch, RequiredIfMatch
from laborcoop.contracts.codes import Availability, OccupationCode
from laborcoop.placements.exchange import LabourExchange
from laborcoop.placements.workers import repository
from laborcoop.placements.workers.domain import Worker, registering_province
from laborcoop.placements.workers.schemas import (
    AvailabilityIn,
    ConsentIn,
    ConsentWithdrawal,
    Purpose,
    ReadOut,
    WorkerCreate,
    WorkerOut,
    WorkerPatch,
)
from laborcoop.placements.workers.service import Workers

router = APIRouter(prefix="/v1/workers", tags=["workers"])

WorkerId = Annotated[UUID, Path(description="The worker's opaque id")]
ROUTES = AggregateRoutes(router, "worker_id", "worker", WorkerOut)
USES = use_cases(LabourExchange, lambda u: u.workers)
Use = Annotated[Workers, USES]
LOCATION = "/v1/workers/{id}"


def _masked(use: Workers, principal: Principal) -> Representation[Worker]:
    """The answer to a command or a list: every personal field masked."""
    return Representation(lambda w: WorkerOut.of(use.masked(w, principal)), LOCATION)


@router.post(
    "",
    status_code=201,
    response_model=WorkerOut,
    summary="Register a worker of your province",
    description="The calling province is the worker's origin; the ID number's county must be "
    "in it. Name, ID number, phone and the poverty-alleviation flag are sealed at rest; a "
    "second registration of one ID number is a 409. The answer is masked.",
    responses=problem_responses(Forbidden, Conflict),
)
async def register_worker(body: WorkerCreate, command: Command, use: Use) -> Response:
    return await command.execute(
        lambda uow: use.register(uow, command.principal, body.person(), body.profile()),
        _masked(use, command.principal).created,
    )


@ROUTES.listing(Page[WorkerOut], "List your province's workers (masked)")
async def list_workers(
    principal: CurrentPrincipal,
    pool: DbPool,
    use: Use,
    brand: UUID | None = None,
    occupation: Annotated[OccupationCode | None, Query()] = None,
    availability: Availability | None = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[WorkerOut]:
    where = repository.WorkerFilter(
        registering_province(principal),
        brand,
        occupation,
        availability.value if availability else None,
    )
    async with pool.acquire() as conn:
        found = await repository.search(conn, where, after=cursor_id(cursor), limit=limit + 1)
    return page_of(
        [WorkerOut.of(use.masked(w, principal)) for w in found],
        limit,
        lambda w: {"id": str(w.id)},
    )


@ROUTES.one("One worker, in the clear as far as you may see it (audited)")
async def get_worker(
    worker_id: WorkerId,
    principal: CurrentPrincipal,
    pool: DbPool,
    use: Use,
    purpose: Annotated[
        Purpose | None,
        Query(description="Why you read it, kept in the audit of reads in the clear"),
    ] = None,
) -> Response:
    async with pool.acquire() as conn, conn.transaction():
        shown = await use.read(conn, principal, worker_id, purpose or "not stated")
    answer: Representation[Worker] = Representation(lambda _: WorkerOut.of(shown), LOCATION)
    response = answer.answer(shown.worker)
    if shown.clear:  # personal data in the clear: no cache keeps a copy
        response.headers["Cache-Control"] = "no-store"
    return response


@ROUTES.edit(
    "patch",
    "Change a worker's non-identifying attributes",
    "Only the origin province, with `If-Match`.",
)
async def update_worker(
    worker_id: WorkerId, body: WorkerPatch, command: Command, use: Use, if_match: RequiredIfMatch
) -> Response:
    return await command.execute(
        lambda uow: use.update(uow, command.principal, worker_id, if_match, body.changes()),
        _masked(use, command.principal).answer,
    )


@ROUTES.command(
    "availability",
    "Mark available or unavailable",
    "Only the origin province; not while a placement holds the worker.",
)
async def set_availability(
    worker_id: WorkerId, body: AvailabilityIn, command: Command, use: Use, if_match: IfMatch = None
) -> Response:
    return await command.execute(
        lambda uow: use.set_availability(
            uow, command.principal, worker_id, if_match, body.available
        ),
        _masked(use, command.principal).answer,
    )


@ROUTES.command(
    "consents",
    "Record the worker's consent to share with a province",
    "Only the origin province records it, as the worker gave it: `contact` shows name and phone "
    "to that province, `identity` also the ID number (needed to accept a placement there).",
)
async def grant_consent(
    worker_id: WorkerId, body: ConsentIn, command: Command, use: Use, if_match: IfMatch = None
) -> Response:
    return await command.execute(
        lambda uow: use.grant_consent(
            uow, command.principal, worker_id, if_match, body.province, body.scope, body.until
        ),
        _masked(use, command.principal).answer,
    )


@ROUTES.command(
    "consent-withdrawals",
    "Withdraw a consent",
    "From then on the province sees the record masked again.",
)
async def withdraw_consent(
    worker_id: WorkerId,
    body: ConsentWithdrawal,
    command: Command,
    use: Use,
    if_match: IfMatch = None,
) -> Response:
    return await command.execute(
        lambda uow: use.withdraw_consent(
            uow, command.principal, worker_id, if_match, body.province, body.scope
        ),
        _masked(use, command.principal).answer,
    )


@router.get(
    "/{worker_id}/reads",
    response_model=Page[ReadOut],
    summary="Who read the worker's personal data in the clear",
    description="Only the origin province: every read in the clear, oldest first.",
    responses=problem_responses(Forbidden, NotFound),
)
async def list_reads(
    worker_id: WorkerId,
    principal: CurrentPrincipal,
    pool: DbPool,
    use: Use,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[ReadOut]:
    after = _read_position(cursor)
    async with pool.acquire() as conn:
        found = await use.reads(conn, principal, worker_id, after=after, limit=limit + 1)
    return page_of([ReadOut.of(r) for r in found], limit, lambda r: {"read": r.id})


def _read_position(cursor: str | None) -> int | None:
    if cursor is None:
        return None
    position = decode_cursor(cursor).get("read")
    if not isinstance(position, int) or isinstance(position, bool):
        raise InvalidInput.field("cursor", "not a cursor returned by this API")
    return position


ROUTES.history(name="worker_history", use=USES)
