"""This service's copies of the registry's brands and of the agreements, kept from their events.

``BRANDS`` keeps ``brand_copy`` (a worker's brand is one of its province's, not retired) exactly
as the agreements service keeps its own (``laborcoop.common.copies``).

``AGREEMENTS`` keeps ``agreement_copy``: each agreement's status, kind, the terms as they stand
with their revision, and the corridors they name (``laborcoop.contracts.corridors``, which
says when an agreement covers one). It is not a :class:`~laborcoop.common.copies.CopyOf`,
because two of the events mean different things depending on what the copy holds, which a
mapping of one event to columns cannot see:

- ``signed`` with nobody ``remaining`` makes a proposal ``signed``, but the last signature of an
  amendment leaves the agreement ``active`` (its ``amended`` event follows): the status changes
  only when the signed revision is the copy's own;
- ``proposed`` of an amendment carries terms *not* in force: only the version moves on.

Every other event maps to the copy alone: ``drafted``, ``draft_updated``, a first ``proposed``,
``activated`` and ``amended`` write the terms they carry (inserting the row if it is missing, so
the copy does not depend on having seen the draft) with the status they imply; ``declined`` of
a proposal returns it to ``draft`` (of an amendment: nothing); ``expired`` and ``terminated``
set that status. As in every copy, an event whose ``sequence`` is not newer than the copy's
``version`` changes nothing, and every event moves the version on; redeliveries are dropped by
the consumer's inbox.
"""

from typing import Final

from laborcoop.common.consumer import Subscription
from laborcoop.common.copies import BRAND_COPY
from laborcoop.common.db import Connection
from laborcoop.contracts import topics
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
    Terms,
)
from laborcoop.contracts.codes import AgreementStatus
from laborcoop.contracts.corridors import corridors_of
from laborcoop.contracts.envelope import CloudEvent

S = AgreementStatus

BRANDS_GROUP: Final = "placements.brands"
AGREEMENTS_GROUP: Final = "placements.agreements"


BRANDS = BRAND_COPY.subscription(BRANDS_GROUP)

# -- agreements -------------------------------------------------------------------------------

_WRITE_TERMS = """
INSERT INTO agreement_copy AS a
    (agreement_id, status, kind, revision, terms, corridors, version, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
ON CONFLICT (agreement_id) DO UPDATE
SET status = EXCLUDED.status, kind = EXCLUDED.kind, revision = EXCLUDED.revision,
    terms = EXCLUDED.terms, corridors = EXCLUDED.corridors, version = EXCLUDED.version,
    updated_at = EXCLUDED.updated_at
WHERE a.version < EXCLUDED.version
"""

_ADVANCE = """
UPDATE agreement_copy
SET status = CASE WHEN $3::text IS NOT NULL AND ($4::integer IS NULL OR revision = $4)
                  THEN $3::text ELSE status END,
    version = $2, updated_at = $5
WHERE agreement_id = $1 AND version < $2
"""


async def _write_terms(
    conn: Connection, event: CloudEvent, terms: Terms, status: AgreementStatus, revision: int
) -> None:
    """The terms ``event`` carries become the copy's, with ``status``."""
    await conn.execute(
        _WRITE_TERMS,
        event.subject,
        status.value,
        terms.kind.value,
        revision,
        terms.model_dump(mode="json"),
        corridors_of(terms),
        event.version,
        event.time,
    )


async def _advance(
    conn: Connection,
    event: CloudEvent,
    status: AgreementStatus | None = None,
    *,
    of_revision: int | None = None,
) -> None:
    """The version moves on; the status becomes ``status`` if given (and, with
    ``of_revision``, only if the copy holds that revision of the terms)."""
    await conn.execute(
        _ADVANCE,
        event.subject,
        event.version,
        status.value if status is not None else None,
        of_revision,
        event.time,
    )


async def _drafted(conn: Connection, event: CloudEvent, payload: AgreementDrafted) -> None:
    await _write_terms(conn, event, payload.terms, S.DRAFT, payload.revision)


async def _draft_updated(
    conn: Connection, event: CloudEvent, payload: AgreementDraftUpdated
) -> None:
    await _write_terms(conn, event, payload.terms, S.DRAFT, payload.revision)


async def _proposed(conn: Connection, event: CloudEvent, payload: AgreementProposed) -> None:
    if payload.amendment:  # terms under signature, not in force
        await _advance(conn, event)
    else:
        await _write_terms(conn, event, payload.terms, S.PROPOSED, payload.revision)


async def _signed(conn: Connection, event: CloudEvent, payload: AgreementSigned) -> None:
    if payload.remaining:
        await _advance(conn, event)
    else:  # every party signed: a proposal is signed; an amendment's `amended` follows
        await _advance(conn, event, S.SIGNED, of_revision=payload.revision)


async def _declined(conn: Connection, event: CloudEvent, payload: AgreementDeclined) -> None:
    await _advance(conn, event, None if payload.amendment else S.DRAFT)


async def _activated(conn: Connection, event: CloudEvent, payload: AgreementActivated) -> None:
    await _write_terms(conn, event, payload.terms, S.ACTIVE, payload.revision)


async def _amended(conn: Connection, event: CloudEvent, payload: AgreementAmended) -> None:
    await _write_terms(conn, event, payload.terms, payload.status, payload.revision)


async def _expired(conn: Connection, event: CloudEvent, payload: AgreementExpired) -> None:
    await _advance(conn, event, S.EXPIRED)


async def _terminated(conn: Connection, event: CloudEvent, payload: AgreementTerminated) -> None:
    await _advance(conn, event, S.TERMINATED)


AGREEMENTS = (
    Subscription(group=AGREEMENTS_GROUP, topics=[topics.AGREEMENTS])
    .handle(AgreementDrafted, _drafted)
    .handle(AgreementDraftUpdated, _draft_updated)
    .handle(AgreementProposed, _proposed)
    .handle(AgreementSigned, _signed)
    .handle(AgreementDeclined, _declined)
    .handle(AgreementActivated, _activated)
    .handle(AgreementAmended, _amended)
    .handle(AgreementExpired, _expired)
    .handle(AgreementTerminated, _terminated)
)
"""The consumer group keeping ``agreement_copy``: every event type of the agreements topic."""
