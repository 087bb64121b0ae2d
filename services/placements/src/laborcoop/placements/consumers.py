"""This service's copies of the registry's brands and of the agreements, kept from their events.

``BRANDS`` keeps ``brand_copy`` (a worker's brand is one of its province's, not retired) exactly
as the agreements service keeps its own (``laborcoop.common.copies``).

``AGREEMENTS`` keeps ``agreement_copy``: each agreement's status, kind, the terms as they stand
with their revision, and the corridors they name (``laborcoop.contracts.corridors``, which
says when an agreement covers one). It is kept by ``laborcoop.common.copies.AgreementCopy``,
as the gateway's ``agreement_view`` is: each agreement event's ``copy_change`` says what it
changes (two events mean different things depending on what the copy holds, so this is not a
``CopyOf``); this module holds only the SQL writing the terms. As in every copy, an event whose
``sequence`` is not newer than the copy's ``version`` changes nothing, and every event moves
the version on; redeliveries are dropped by the consumer's inbox.
"""

from typing import Final

from laborcoop.common.copies import BRAND_COPY, AgreementCopy
from laborcoop.common.db import Connection
from laborcoop.contracts.agreements import (
    TermsStand,
)
from laborcoop.contracts.corridors import corridors_of
from laborcoop.contracts.envelope import CloudEvent

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


async def _write_terms(conn: Connection, event: CloudEvent, stand: TermsStand) -> None:
    """The terms ``event`` carries become the copy's, with their status."""
    terms = stand.terms
    await conn.execute(
        _WRITE_TERMS,
        event.subject,
        stand.status.value,
        terms.kind.value,
        stand.revision,
        terms.model_dump(mode="json"),
        corridors_of(terms),
        event.version,
        event.time,
    )


AGREEMENTS = AgreementCopy("agreement_copy", _write_terms).subscription(AGREEMENTS_GROUP)
"""The consumer group keeping ``agreement_copy``: every event type of the agreements topic."""
