"""The views' projections applied event by event, as the consumer runner applies them (the
group's handler for the type, in a transaction), without Kafka: an agreement's lifecycle with
amendments and declines, and every row ignoring an event that is not newer than it."""

from collections.abc import AsyncIterator
from datetime import date
from typing import Any
from uuid import UUID

import pytest

from laborcoop.common.consumer import Subscription
from laborcoop.common.db import Connection, connect
from laborcoop.contracts.agreements import (
    AgreementActivated,
    AgreementAmended,
    AgreementDeclined,
    AgreementDrafted,
    AgreementDraftUpdated,
    AgreementExpired,
    AgreementProposed,
    AgreementSigned,
    AgreementTerminated,
    Target,
)
from laborcoop.contracts.codes import AgreementStatus, Availability, DemandStatus
from laborcoop.contracts.envelope import CloudEvent
from laborcoop.contracts.events import EventPayload, new_event
from laborcoop.contracts.placements import DemandClosed, DemandFilled, WorkerUpdated
from laborcoop.gateway.app import SPEC
from laborcoop.gateway.views.authorization import Kind, Viewer
from laborcoop.gateway.views.projections import AGREEMENTS, DEMANDS, WORKERS
from laborcoop.gateway.views.repository import AGREEMENT_COLUMNS
from laborcoop.gateway.views.schemas import AgreementItem, SignatureOut
from laborcoop.testing.databases import Databases
from services.gateway.tests.story import (
    GUANGDONG,
    HUNAN,
    HUNAN_GUANGDONG,
    W1,
    at,
    demand,
    worker,
)

A = UUID(int=0xA)
D = UUID(int=0xD)


@pytest.fixture
async def conn(databases: Databases) -> AsyncIterator[Connection]:
    connection = await connect(await databases.fresh(SPEC.migration_package))
    try:
        yield connection
    finally:
        await connection.close()


class Feed:
    def __init__(self, conn: Connection, subscription: Subscription, subject: UUID) -> None:
        self.conn = conn
        self.subscription = subscription
        self.subject = subject
        self.version = 0

    async def __call__(self, payload: EventPayload, *, version: int | None = None) -> None:
        """Apply ``payload`` as the next version of the subject (or as ``version``)."""
        if version is None:
            self.version += 1
        event: CloudEvent = new_event(
            payload,
            subject=str(self.subject),
            version=version or self.version,
            provinces=[HUNAN],
            time=at("2025-01-01"),
        )
        async with self.conn.transaction():
            await self.subscription.handlers[event.type](event)(self.conn)


async def agreement(conn: Connection) -> dict[str, Any]:
    row = await conn.fetchrow(
        "SELECT status, revision, title, parties, target_corridors, corridors, version, terms"
        " FROM agreement_view WHERE agreement_id = $1",
        A,
    )
    assert row is not None
    return dict(row)


AMENDED = HUNAN_GUANGDONG.model_copy(
    update={
        "title": "湘粤劳务协作(修订)",
        "targets": (
            Target(period="2026", origin=HUNAN, destination=GUANGDONG, workers_transferred=300),
            Target(period="2026", origin=GUANGDONG, destination=HUNAN, people_trained=50),
        ),
    }
)


async def test_an_agreement_follows_its_lifecycle_and_only_terms_in_force(
    conn: Connection,
) -> None:
    feed = Feed(conn, AGREEMENTS, A)
    terms = HUNAN_GUANGDONG
    await feed(AgreementDrafted(agreement_id=A, revision=1, terms=terms))
    assert (await agreement(conn))["status"] == "draft"
    await feed(AgreementDraftUpdated(agreement_id=A, revision=1, terms=terms))
    await feed(AgreementProposed(agreement_id=A, revision=1, terms=terms))
    await feed(AgreementDeclined(agreement_id=A, revision=1, province=GUANGDONG, reason="再议"))
    assert (await agreement(conn))["status"] == "draft"
    await feed(AgreementProposed(agreement_id=A, revision=1, terms=terms))
    await feed(AgreementSigned(agreement_id=A, revision=1, province=HUNAN, remaining=(GUANGDONG,)))
    assert (await agreement(conn))["status"] == "proposed"
    await feed(AgreementSigned(agreement_id=A, revision=1, province=GUANGDONG, remaining=()))
    assert (await agreement(conn))["status"] == "signed"
    await feed(AgreementActivated(agreement_id=A, revision=1, terms=terms))
    held = await agreement(conn)
    assert (held["status"], held["revision"], held["parties"]) == ("active", 1, [HUNAN, GUANGDONG])
    assert held["target_corridors"] == [f"{HUNAN}>{GUANGDONG}"]
    assert held["corridors"] == [f"{HUNAN}>{GUANGDONG}"]

    # an amendment under signature, then declined: the terms in force stay
    await feed(AgreementProposed(agreement_id=A, revision=2, terms=AMENDED, amendment=True))
    await feed(AgreementSigned(agreement_id=A, revision=2, province=HUNAN, remaining=(GUANGDONG,)))
    await feed(
        AgreementDeclined(
            agreement_id=A, revision=2, province=GUANGDONG, reason="目标过高", amendment=True
        )
    )
    held = await agreement(conn)
    assert (held["status"], held["revision"], held["title"]) == ("active", 1, "湘粤劳务协作")

    # an amendment every party signs: still active, then the new terms
    await feed(AgreementProposed(agreement_id=A, revision=2, terms=AMENDED, amendment=True))
    await feed(AgreementSigned(agreement_id=A, revision=2, province=HUNAN, remaining=(GUANGDONG,)))
    await feed(AgreementSigned(agreement_id=A, revision=2, province=GUANGDONG, remaining=()))
    assert (await agreement(conn))["status"] == "active"
    await feed(
        AgreementAmended(agreement_id=A, revision=2, terms=AMENDED, status=AgreementStatus.ACTIVE)
    )
    held = await agreement(conn)
    assert (held["status"], held["revision"], held["title"]) == ("active", 2, "湘粤劳务协作(修订)")
    assert held["target_corridors"] == [f"{HUNAN}>{GUANGDONG}", f"{GUANGDONG}>{HUNAN}"]

    # an older event, with an id of its own: ignored whole
    version = held["version"]
    await feed(AgreementDrafted(agreement_id=A, revision=1, terms=HUNAN_GUANGDONG), version=3)
    assert await agreement(conn) == held

    await feed(AgreementTerminated(agreement_id=A, revision=2, province=HUNAN, reason="合并"))
    assert (await agreement(conn))["status"] == "terminated"
    await feed(AgreementExpired(agreement_id=A, revision=2, effective_to=date(2027, 12, 31)))
    assert (await agreement(conn))["version"] == version + 2


async def test_demands_and_workers_ignore_what_is_not_newer(conn: Connection) -> None:
    feed = Feed(conn, DEMANDS, D)
    await feed(demand(D, GUANGDONG, "440106"))
    await feed(DemandFilled(demand_id=D, province=GUANGDONG, headcount=5))
    await feed(
        DemandClosed(demand_id=D, province=GUANGDONG, status=DemandStatus.EXPIRED, reason="到期"),
        version=2,
    )
    row = await conn.fetchrow("SELECT status, closed_reason, version FROM demand_view")
    assert row is not None
    assert tuple(row) == ("filled", None, 2)

    workers = Feed(conn, WORKERS, W1)
    await workers(worker(WorkerUpdated, W1, HUNAN, Availability.PLACED, None), version=3)
    await workers(worker(WorkerUpdated, W1, HUNAN, Availability.AVAILABLE, None), version=2)
    row = await conn.fetchrow("SELECT availability, version FROM worker_view")
    assert row is not None
    assert tuple(row) == ("placed", 3)  # an update may come first: it carries the whole profile


async def _item(conn: Connection, viewer: Viewer) -> AgreementItem:
    row = await conn.fetchrow(
        f"SELECT {AGREEMENT_COLUMNS} FROM agreement_view WHERE agreement_id = $1", A
    )
    assert row is not None
    return AgreementItem.of(row, viewer)


def _signers(signatures: list[SignatureOut]) -> list[str]:
    return [s.province for s in signatures]


async def test_an_agreement_lists_who_signed_and_its_amendment_as_the_service_does(
    conn: Connection,
) -> None:
    """The fields of the agreements service's record: signatures of the proposal, an amendment
    under signature with its signatures and who is awaited, shown to the parties only."""
    hunan, ministry = Viewer(Kind.PROVINCE, HUNAN), Viewer(Kind.MINISTRY)
    feed = Feed(conn, AGREEMENTS, A)
    terms = HUNAN_GUANGDONG
    await feed(AgreementDrafted(agreement_id=A, revision=1, terms=terms))
    await feed(AgreementProposed(agreement_id=A, revision=1, terms=terms))
    await feed(AgreementSigned(agreement_id=A, revision=1, province=HUNAN, remaining=(GUANGDONG,)))
    item = await _item(conn, hunan)
    assert (_signers(item.signatures), item.awaiting) == ([HUNAN], [GUANGDONG])
    await feed(AgreementDeclined(agreement_id=A, revision=1, province=GUANGDONG, reason="再议"))
    item = await _item(conn, hunan)
    assert (item.signatures, item.awaiting, item.status) == ([], [], AgreementStatus.DRAFT)
    await feed(AgreementProposed(agreement_id=A, revision=1, terms=terms))
    await feed(AgreementSigned(agreement_id=A, revision=1, province=GUANGDONG, remaining=(HUNAN,)))
    await feed(AgreementSigned(agreement_id=A, revision=1, province=HUNAN, remaining=()))
    await feed(AgreementActivated(agreement_id=A, revision=1, terms=terms))
    item = await _item(conn, ministry)
    assert (_signers(item.signatures), item.awaiting) == ([GUANGDONG, HUNAN], [])

    await feed(AgreementProposed(agreement_id=A, revision=2, terms=AMENDED, amendment=True))
    await feed(AgreementSigned(agreement_id=A, revision=2, province=GUANGDONG, remaining=(HUNAN,)))
    item = await _item(conn, hunan)
    assert item.amendment == AMENDED
    assert (_signers(item.amendment_signatures), item.awaiting) == ([GUANGDONG], [HUNAN])
    assert _signers(item.signatures) == [GUANGDONG, HUNAN]  # of the revision in force
    hidden = await _item(conn, ministry)  # not a party: the amendment is not shown
    assert (hidden.amendment, hidden.amendment_signatures, hidden.awaiting) == (None, [], [])

    await feed(AgreementSigned(agreement_id=A, revision=2, province=HUNAN, remaining=()))
    await feed(
        AgreementAmended(agreement_id=A, revision=2, terms=AMENDED, status=AgreementStatus.ACTIVE)
    )
    item = await _item(conn, hunan)
    assert (item.revision, item.amendment, item.amendment_signatures) == (2, None, [])
    assert _signers(item.signatures) == [GUANGDONG, HUNAN]  # the amendment's, now in force
    await feed(AgreementSigned(agreement_id=A, revision=2, province=HUNAN, remaining=()), version=2)
    assert _signers((await _item(conn, hunan)).signatures) == [GUANGDONG, HUNAN]  # not newer
