"""The agreements routes: thin; each parses, runs one use case in one unit of work, and answers."""

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Path, Query, Response

from laborcoop.agreements import repository
from laborcoop.agreements.domain import Agreement
from laborcoop.agreements.schemas import (
    AgreementOut,
    Decline,
    Signature,
    Termination,
    TermsIn,
)
from laborcoop.agreements.service import Agreements
from laborcoop.common.auth import CurrentPrincipal, Principal
from laborcoop.common.deps import DbPool, use_cases
from laborcoop.common.errors import (
    Forbidden,
    problem_responses,
)
from laborcoop.common.idempotency import Command
from laborcoop.common.inputs import CalendarDate
from laborcoop.common.pagination import Cursor, Limit, Page, cursor_id, page_of
from laborcoop.common.routes import AggregateRoutes, Representation
from laborcoop.common.versioning import IfMatch, RequiredIfMatch
from laborcoop.contracts.codes import AgreementKind, AgreementStatus, CooperationArea
from laborcoop.contracts.provinces import ProvinceCode

router = APIRouter(prefix="/v1/agreements", tags=["agreements"])

AgreementId = Annotated[UUID, Path(description="The agreement's id")]
ProvinceQuery = Annotated[ProvinceCode | None, Query()]
ROUTES = AggregateRoutes(router, "agreement_id", "agreement", AgreementOut)
USES = use_cases(Agreements)
Use = Annotated[Agreements, USES]
LOCATION = "/v1/agreements/{id}"
AGREEMENT = Representation(AgreementOut.of, LOCATION)
"""The answer to a command: its caller acted as a party, so it sees the whole agreement."""


def _as_seen_by(viewer: Principal) -> Representation[Agreement]:
    """The answer to a read: an amendment under signature is shown to the parties only."""
    return Representation(lambda a: AgreementOut.of(a, viewer), LOCATION)


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


@ROUTES.listing(Page[AgreementOut], "List the agreements you may see")
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


@ROUTES.one("One agreement, with its ETag")
async def get_agreement(
    agreement_id: AgreementId, principal: CurrentPrincipal, pool: DbPool, use: Use
) -> Response:
    async with pool.acquire() as conn:
        agreement = await use.visible(conn, principal, agreement_id)
    return _as_seen_by(principal).answer(agreement)


@ROUTES.edit(
    "put", "Rewrite a draft's terms", "Only the initiator, only in draft, with `If-Match`."
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


@ROUTES.command("proposal", "Propose the draft to the parties", "Only the initiator.")
async def propose(
    agreement_id: AgreementId, command: Command, use: Use, if_match: IfMatch = None
) -> Response:
    return await command.execute(
        lambda uow: use.propose(uow, command.principal, agreement_id, if_match), AGREEMENT.answer
    )


@ROUTES.command(
    "signatures",
    "Sign as a party",
    "A party signs once, for itself, the revision under signature (a proposal or an "
    "amendment). When every party has signed, the agreement becomes active on its start date.",
)
async def sign(
    agreement_id: AgreementId,
    body: Signature,
    command: Command,
    use: Use,
    if_match: IfMatch = None,
) -> Response:
    return await command.execute(
        lambda uow: use.sign(uow, command.principal, agreement_id, if_match, body.province),
        AGREEMENT.answer,
    )


@ROUTES.command(
    "declines",
    "Decline as a party",
    "A declined proposal returns to draft; a declined amendment is dropped and the agreement "
    "stays in force as it was.",
)
async def decline(
    agreement_id: AgreementId,
    body: Decline,
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


@ROUTES.command(
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


@ROUTES.command("termination", "Terminate early", "A party ends a signed or active agreement.")
async def terminate(
    agreement_id: AgreementId,
    body: Termination,
    command: Command,
    use: Use,
    if_match: IfMatch = None,
) -> Response:
    return await command.execute(
        lambda uow: use.terminate(uow, command.principal, agreement_id, if_match, body.reason),
        AGREEMENT.answer,
    )


ROUTES.history(name="agreement_history", use=USES)
