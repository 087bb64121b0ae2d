"""Demo data: the four agreements signed at the 2024 national conference (长沙, 21–22 Nov 2024).

Only the members the conference article names are parties: it names three of the nine Yellow
River provinces and three of the ten provinces of the regional compact; the rest are not given.
The article gives no roles, areas, targets, projects or end dates for these agreements, so every
party is ``both``, the lists are empty, the agreements start on 2024-11-22 and have no end date.
The first province named initiates. Each agreement is drafted, proposed and signed by every
party through the aggregate, so the seed emits the same events as real use. A seed only adds
what is missing: an agreement found by its title is left alone whatever became of it since
(amended, declined back to draft, terminated), so seeding again never changes nor fails on it.
"""

import zlib
from dataclasses import dataclass
from datetime import date
from typing import Any

from laborcoop.agreements.service import Agreements
from laborcoop.common.auth import Principal, Role
from laborcoop.common.db import Pool
from laborcoop.common.unit_of_work import UnitOfWork, unit_of_work
from laborcoop.contracts.codes import AgreementKind, PartyRole

SIGNED_ON = date(2024, 11, 22)
_SEED_LOCK = zlib.crc32(b"laborcoop.agreements.seed")  # two seeds at once add nothing twice


@dataclass(frozen=True)
class DemoAgreement:
    title: str
    kind: AgreementKind
    members: tuple[str, ...]


DEMO_AGREEMENTS = (
    DemoAgreement("沿黄9省区劳务协作联盟", AgreementKind.ALLIANCE, ("370000", "620000", "640000")),
    DemoAgreement("成渝地区双城经济圈劳务协作", AgreementKind.REGIONAL, ("510000", "500000")),
    DemoAgreement("深化沪滇劳务协作", AgreementKind.BILATERAL, ("310000", "530000")),
    DemoAgreement(
        "湖南、江苏、浙江等十省区域劳务协作", AgreementKind.REGIONAL, ("430000", "320000", "330000")
    ),
)


def _province(code: str) -> Principal:
    return Principal(client_id="seed", province=code, roles=frozenset({Role.PROVINCE}))


def _terms(demo: DemoAgreement) -> dict[str, Any]:
    """The terms as a province would send them (the initiator is the one who drafts)."""
    return {
        "title": demo.title,
        "kind": demo.kind,
        "parties": [{"province": p, "role": PartyRole.BOTH} for p in demo.members],
        "effective_from": SIGNED_ON,
    }


async def _exists(uow: UnitOfWork, title: str) -> bool:
    found: bool = await uow.fetchval(
        "SELECT EXISTS (SELECT 1 FROM agreements WHERE terms->>'title' = $1)", title
    )
    return found


async def _adopt(uow: UnitOfWork, use: Agreements, demo: DemoAgreement) -> None:
    """Draft, propose and sign, as the parties would: one statement when the unit commits."""
    initiator = _province(demo.members[0])
    agreement = await use.draft(uow, initiator, _terms(demo))
    await use.propose(uow, initiator, agreement.id, None)
    for member in demo.members:
        await use.sign(uow, _province(member), agreement.id, None, member)


async def seed(pool: Pool, use: Agreements) -> int:
    """Load the demo agreements; returns how many were added."""
    added = 0
    for demo in DEMO_AGREEMENTS:
        async with unit_of_work(pool, use.settings) as uow:
            await uow.fetchval("SELECT pg_advisory_xact_lock($1)", _SEED_LOCK, lock=True)
            if not await _exists(uow, demo.title):
                await _adopt(uow, use, demo)
                added += 1
    return added
