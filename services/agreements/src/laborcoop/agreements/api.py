"""The agreements routes: thin; each parses, runs one use case in one unit of work, and answers."""

from collections.abc import Callable
from typing import Annotated, Any, TypeVar
from uuid import UUID

from fastapi import APIRouter, Path, Query, Response

from laborcoop.agreements import repository
from laborcoop.agreements.domain import Agreement
from laborcoop.agreements.schemas import (
    AgreementOut,
    DeclineIn,
    SignatureIn,
    TerminationIn,
    TermsIn,
)
from laborcoop.agreements.service import Agreements
from laborcoop.common.api import CalendarDate
from laborcoop.common.auth import CurrentPrincipal, Principal
from laborcoop.common.deps import DbPool, use_cases
from laborcoop.common.errors import (
    Conflict,
    Forbidden,
    NotFound,
    PreconditionFailed,
    PreconditionRequired,
    problem_responses,
)
from laborcoop.common.idempotency import Command
from laborcoop.common.pagination import Cursor, Limit, Page, cursor_id, page_of
from laborcoop.common.routes import Representation, command_route, history_route, list_route
from laborcoop.common.versioning import IfMatch, RequiredIfMatch
from laborcoop.contracts.codes import AgreementKind, AgreementStatus, CooperationArea
from laborcoop.contracts.provinces import ProvinceCode

router = APIRouter(prefix="/v1/agreements", tags=["agreements"])

AgreementId = Annotated[UUID, Path(description="The agreement's id")]
ProvinceQuery = Annotated[ProvinceCode | None, Query()]
USES = use_cases(Agreements)
Use = Annotated[Agreements, USES]
LOCATION = "/v1/agreements/{id}"
AGREEMENT = Representation(AgreementOut.of, LOCATION)
"""The answer to a command: its caller acted as a party, so it sees the whole agreement."""
F = TypeVar("F", bound=Callable[..., Any])


def _as_seen_by(viewer: Principal) -> Representation[Agreement]:
    """The answer to a read: an amendment under signature is shown to the parties only."""
    return Representation(lambda a: AgreementOut.of(a, viewer), LOCATION)


def _command(verb: str, summary: str, description: str = "") -> Callable[[F], F]:
    return command_route(
        router,
        verb,
        id_name="agreement_id",
        response_model=AgreementOut,
        summary=summary,
        description=description,
    )


@router.post(
    "",
    status_code=201,
    response_model=AgreementOut,
    summary="Draft an agreement",
    description="The calling province becomes the initiator and must be one of the parties. "
    "Linked brands are checked against this service's copy of the register.",
    responses=problem_responses(Forbidden),
)
async def draft_agreement(body: TermsIn, command: Command, use: Use) -> Response:
    return await command.execute(
        lambda uow: use.draft(uow, command.principal, body.sent()), AGREEMENT.created
    )


@list_route(router, response_model=Page[AgreementOut], summary="List the agreements you may see")
async def list_agreements(
    principal: CurrentPrincipal,
    pool: DbPool,
    use: Use,
    party: ProvinceQuery = None,
    kind: AgreementKind | None = None,
    status: AgreementStatus | None = None,
    area: CooperationArea | None = None,
    brand: UUID | None = None,
    origin: ProvinceQuery = None,
    destination: ProvinceQuery = None,
    active_on: Annotated[
        CalendarDate | None,
        Query(description="in force on this day (also if it has ended since), YYYY-MM-DD"),
    ] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[AgreementOut]:
    where = repository.AgreementFilter(
        party,
        kind,
        status,
        area,
        brand,
        repository.corridor_pattern(origin, destination),
        active_on,
        timezone=str(use.timezone),
    )
    async with pool.acquire() as conn:
        found = await repository.search(
            conn, principal, where, after=cursor_id(cursor), limit=limit + 1
        )
    return page_of(
        [AgreementOut.of(a, principal) for a in found], limit, lambda a: {"id": str(a.id)}
    )


@router.get(
    "/{agreement_id}",
    response_model=AgreementOut,
    summary="One agreement, with its ETag",
    responses=problem_responses(NotFound),
)
async def get_agreement(
    agreement_id: AgreementId, principal: CurrentPrincipal, pool: DbPool, use: Use
) -> Response:
    async with pool.acquire() as conn:
        agreement = await use.visible(conn, principal, agreement_id)
    return _as_seen_by(principal).answer(agreement)


@router.put(
    "/{agreement_id}",
    response_model=AgreementOut,
    summary="Rewrite a draft's terms",
    description="Only the initiator, only in draft, with `If-Match`.",
    responses=problem_responses(
        Forbidden, NotFound, Conflict, PreconditionFailed, PreconditionRequired
    ),
)
async def edit_draft(
    agreement_id: AgreementId,
    body: TermsIn,
    command: Command,
    use: Use,
    if_match: RequiredIfMatch,
) -> Response:
    return await command.execute(
        lambda uow: use.edit_draft(uow, command.principal, agreement_id, if_match, body.sent()),
        AGREEMENT.answer,
    )


@_command("proposal", "Propose the draft to the parties", "Only the initiator.")
async def propose(
    agreement_id: AgreementId, command: Command, use: Use, if_match: IfMatch = None
) -> Response:
    return await command.execute(
        lambda uow: use.propose(uow, command.principal, agreement_id, if_match), AGREEMENT.answer
    )


@_command(
    "signatures",
    "Sign as a party",
    "A party signs once, for itself, the revision under signature (a proposal or an "
    "amendment). When every party has signed, the agreement becomes active on its start date.",
)
async def sign(
    agreement_id: AgreementId,
    body: SignatureIn,
    command: Command,
    use: Use,
    if_match: IfMatch = None,
) -> Response:
    return await command.execute(
        lambda uow: use.sign(uow, command.principal, agreement_id, if_match, body.province),
        AGREEMENT.answer,
    )


@_command(
    "declines",
    "Decline as a party",
    "A declined proposal returns to draft; a declined amendment is dropped and the agreement "
    "stays in force as it was.",
)
async def decline(
    agreement_id: AgreementId,
    body: DeclineIn,
    command: Command,
    use: Use,
    if_match: IfMatch = None,
) -> Response:
    return await command.execute(
        lambda uow: use.decline(
            uow, command.principal, agreement_id, if_match, body.province, body.reason
        ),
        AGREEMENT.answer,
    )


@_command(
    "amendments",
    "Propose an amendment",
    "A party proposes new terms for an active agreement (same parties and initiator). Every "
    "party signs them again; until then the current terms stay in force.",
)
async def amend(
    agreement_id: AgreementId,
    body: TermsIn,
    command: Command,
    use: Use,
    if_match: IfMatch = None,
) -> Response:
    return await command.execute(
        lambda uow: use.amend(uow, command.principal, agreement_id, if_match, body.sent()),
        AGREEMENT.answer,
    )


@_command("termination", "Terminate early", "A party ends a signed or active agreement.")
async def terminate(
    agreement_id: AgreementId,
    body: TerminationIn,
    command: Command,
    use: Use,
    if_match: IfMatch = None,
) -> Response:
    return await command.execute(
        lambda uow: use.terminate(uow, command.principal, agreement_id, if_match, body.reason),
        AGREEMENT.answer,
    )


history_route(router, id_name="agreement_id", noun="agreement", name="agreement_history", use=USES)
