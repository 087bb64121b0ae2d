"""Which agreements cover a corridor, read from this service's copy of the agreements.

What a corridor is, which corridors an agreement's terms name and when it covers them is the
shared rule of ``laborcoop.contracts.corridors`` (the gateway's corridor view reads the same
one): an **active** agreement covers every target's corridor and every sending → receiving
pair of its parties. Placements count against an agreement that covers their corridor
(:func:`covering_agreements`); matching proposes workers of the origins that an agreement
covers towards the demand's province (:func:`covered_origins`), and demands of the destinations
covered from the worker's province (:func:`covered_destinations`).

What is read here is this service's copy of the agreements (``agreement_copy``, kept by
``laborcoop.placements.consumers.AGREEMENTS``): it lags the agreements service by the relay and
consumer delay, normally well under a second.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Final
from uuid import UUID

from laborcoop.common.db import Reader
from laborcoop.contracts.agreements import Terms
from laborcoop.contracts.codes import AgreementKind
from laborcoop.contracts.corridors import corridor


@dataclass(frozen=True)
class Cover:
    """An active agreement covering one corridor, with that corridor's targets of workers
    transferred, by period (``"2025"``, ``"2025-Q1"``)."""

    agreement_id: UUID
    title: str
    kind: AgreementKind
    effective_from: date
    effective_to: date | None
    targets: Mapping[str, int] = field(default_factory=dict)

    def target(self, period: str) -> int | None:
        """The corridor's target of workers transferred in ``period``, if the terms set one."""
        return self.targets.get(period)


def _cover(agreement_id: UUID, terms: Terms, origin: str, destination: str) -> Cover:
    targets: dict[str, int] = {}
    for t in terms.targets:
        if (t.origin, t.destination) == (origin, destination) and t.workers_transferred is not None:
            targets[t.period] = targets.get(t.period, 0) + t.workers_transferred
    return Cover(
        agreement_id=agreement_id,
        title=terms.title,
        kind=terms.kind,
        effective_from=terms.effective_from,
        effective_to=terms.effective_to,
        targets=targets,
    )


COVERING_QUERY: Final = """
SELECT agreement_id, terms FROM agreement_copy
WHERE status = 'active' AND corridors @> ARRAY[$1::text]
"""


async def covering_agreements(conn: Reader, origin: str, destination: str) -> list[Cover]:
    """The agreements covering ``origin → destination``, the earliest in force first
    (``agreement_copy_corridors``)."""
    rows = await conn.fetch(COVERING_QUERY, corridor(origin, destination))
    covers = [
        _cover(r["agreement_id"], Terms.model_validate(r["terms"]), origin, destination)
        for r in rows
    ]
    return sorted(covers, key=lambda c: (c.effective_from, c.agreement_id))


def covered_origins_sql(destination: str) -> str:
    """The SQL expression (a sorted ``text[]``) of :func:`covered_origins` towards the SQL
    expression ``destination``: for a query that reads them with other things, in one trip."""
    return f"""ARRAY(
        SELECT DISTINCT split_part(c, '>', 1)
        FROM agreement_copy, unnest(corridors) AS c
        WHERE status = 'active' AND corridor_destinations(corridors) @> ARRAY[({destination})::text]
          AND split_part(c, '>', 2) = ({destination})::text
        ORDER BY 1)"""


def covered_destinations_sql(origin: str) -> str:
    """The SQL expression (a sorted ``text[]``) of :func:`covered_destinations` from the SQL
    expression ``origin``."""
    return f"""ARRAY(
        SELECT DISTINCT split_part(c, '>', 2)
        FROM agreement_copy, unnest(corridors) AS c
        WHERE status = 'active' AND corridor_origins(corridors) @> ARRAY[({origin})::text]
          AND split_part(c, '>', 1) = ({origin})::text
        ORDER BY 1)"""


async def covered_origins(conn: Reader, destination: str) -> list[str]:
    """The provinces an active agreement covers towards ``destination``, sorted
    (``agreement_copy_destinations``)."""
    found: list[str] = await conn.fetchval(f"SELECT {covered_origins_sql('$1')}", destination)
    return found


async def covered_destinations(conn: Reader, origin: str) -> list[str]:
    """The provinces an active agreement covers from ``origin``, sorted
    (``agreement_copy_origins``)."""
    found: list[str] = await conn.fetchval(f"SELECT {covered_destinations_sql('$1')}", origin)
    return found
