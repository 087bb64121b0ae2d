"""The candidate queries of matching, and what they start from (a demand, a worker).

Candidates are found by indexes, never by reading every row. The available workers of the
covered origins with the demand's occupation are an index-only scan of ``worker_matching_key``
over ``worker_matching`` (migration 0003: one narrow row per available worker and key
``<origin>/<occupation>`` or ``<origin>/<group d-dd>``, kept by triggers on ``workers``), put in
the coarse order (a preferred brand first, then the wage fit, then id) and cut at the limit;
only those workers' rows are then read, by primary key. Open demands for a worker come from
``demands_open`` ``(occupation, province)`` and ``demands_open_groups``.

Each search has two tiers: the exact occupation first, then, only if that gave fewer than the
wanted number, the rest of the occupation's group. The ranking (:mod:`.ranking`) orders what
comes back.

The demand is read from the ``demands`` table directly (its columns of migration 0002), the
worker from ``workers``: only the columns matching needs, never a sealed one.
"""

from dataclasses import dataclass
from typing import Any, Final
from uuid import UUID

import asyncpg

from laborcoop.common.db import Reader
from laborcoop.placements import corridors
from laborcoop.placements.matching.ranking import Candidate, Opening, Skill

GROUP: Final = 4
"""Length of an occupation's group prefix, ``d-dd`` (中类)."""

_WORKER_COLUMNS: Final = (
    "id",
    "origin",
    "county",
    "occupations",
    "brand_id",
    "certificates",
    "wage_min",
    "wage_max",
)
_DEMAND_COLUMNS: Final = (
    "id, province, city_code, occupation, wage_min, wage_max, preferred_brands, employer_name, "
    "headcount, accepted"
)

# $1 the keys `<origin>/<code or group>`, $2 the preferred brands, $3 the demand's wage_max,
# $4 the limit.
WORKERS: Final = f"""
SELECT {", ".join(f"w.{c}" for c in _WORKER_COLUMNS if c != "certificates")},
       nullif(w.certificates, '[]') AS certificates
FROM (SELECT worker_id,
             coalesce(brand_id = ANY($2::uuid[]), false) AS preferred,
             CASE WHEN wage_min IS NULL AND wage_max IS NULL THEN 1
                  WHEN coalesce(wage_min, 0) <= $3::integer THEN 2
                  ELSE 0 END AS wage_fit
      FROM worker_matching
      WHERE key = ANY($1::text[])
      ORDER BY preferred DESC, wage_fit DESC, worker_id
      LIMIT $4) AS c
JOIN workers AS w ON w.id = c.worker_id AND w.availability = 'available'
ORDER BY c.preferred DESC, c.wage_fit DESC, c.worker_id
"""

# $1 the occupations (or their groups), $2 the covered destinations, $3 the worker's brand,
# $4 the worker's wage_min, $5 the limit, $6 (the group tier) the worker's own occupations.
_DEMANDS: Final = f"""
SELECT {_DEMAND_COLUMNS}
FROM demands
WHERE status = 'open' AND {{occupation}} = ANY($1::text[]) AND province = ANY($2::bpchar[]){{extra}}
ORDER BY coalesce($3::uuid = ANY(preferred_brands), false) DESC,
         (wage_max >= $4::integer) DESC,
         id
LIMIT $5
"""
DEMANDS_EXACT: Final = _DEMANDS.format(occupation="occupation", extra="")
DEMANDS_GROUP: Final = _DEMANDS.format(
    occupation="left(occupation, 4)", extra="\n  AND occupation <> ALL($6::text[])"
)


@dataclass(frozen=True)
class Demand:
    """A demand as matching starts from it: what it offers, whether it is open, and the
    origins active agreements cover towards its province."""

    opening: Opening
    status: str
    origins: list[str]


@dataclass(frozen=True)
class Worker:
    """A worker as matching starts from it: its profile, whether it is available, and the
    destinations active agreements cover from its origin."""

    candidate: Candidate
    availability: str
    destinations: list[str]


def _skills(certificates: list[dict[str, Any]] | None) -> tuple[Skill, ...]:
    """The certificates as ranking reads them (``None``: none; the candidate query leaves an
    empty list undecoded)."""
    if not certificates:
        return ()
    return tuple(Skill(c["kind"], c.get("level"), c.get("name", "")) for c in certificates)


def _candidate(row: asyncpg.Record) -> Candidate:
    return Candidate(
        worker_id=row["id"],
        origin=row["origin"],
        county=row["county"],
        occupations=tuple(row["occupations"]),
        brand_id=row["brand_id"],
        certificates=_skills(row["certificates"]),
        wage_min=row["wage_min"],
        wage_max=row["wage_max"],
    )


def _opening(row: asyncpg.Record) -> Opening:
    return Opening(
        demand_id=row["id"],
        province=row["province"],
        city_code=row["city_code"],
        occupation=row["occupation"],
        wage_min=row["wage_min"],
        wage_max=row["wage_max"],
        preferred_brands=frozenset(row["preferred_brands"]),
        employer_name=row["employer_name"],
        headcount=row["headcount"],
        accepted=row["accepted"],
    )


# The demand or worker and the corridors from or to its province, in one trip.
DEMAND_QUERY: Final = f"""
SELECT {_DEMAND_COLUMNS}, status, {corridors.covered_origins_sql("province")} AS origins
FROM demands WHERE id = $1
"""
WORKER_QUERY: Final = f"""
SELECT {", ".join(_WORKER_COLUMNS)}, availability,
       {corridors.covered_destinations_sql("origin")} AS destinations
FROM workers WHERE id = $1
"""


async def demand(conn: Reader, demand_id: UUID) -> Demand | None:
    row = await conn.fetchrow(DEMAND_QUERY, demand_id)
    return Demand(_opening(row), row["status"], row["origins"]) if row else None


async def worker(conn: Reader, worker_id: UUID) -> Worker | None:
    row = await conn.fetchrow(WORKER_QUERY, worker_id)
    return Worker(_candidate(row), row["availability"], row["destinations"]) if row else None


def workers_query(
    opening: Opening, origins: list[str], *, exact: bool, limit: int
) -> tuple[str, list[Any]]:
    """One tier of the workers for ``opening`` from ``origins``: its SQL and arguments. The
    group tier (``exact=False``) includes the workers of the exact occupation too."""
    key = opening.occupation if exact else opening.occupation[:GROUP]
    keys = [f"{origin}/{key}" for origin in origins]
    return WORKERS, [keys, list(opening.preferred_brands), opening.wage_max, limit]


async def candidates(
    conn: Reader, opening: Opening, origins: list[str], limit: int
) -> list[Candidate]:
    """Up to ``limit`` available workers of ``origins`` for ``opening``: the exact occupation
    first, then the rest of its group.

    When the exact tier gave fewer than ``limit``, at most that many of the group tier's
    first ``limit`` rows are of the exact occupation: without them, the others are the best of
    the rest of the group."""
    if not origins:
        return []
    sql, args = workers_query(opening, origins, exact=True, limit=limit)
    found = [_candidate(r) for r in await conn.fetch(sql, *args)]
    if len(found) < limit:
        seen = {c.worker_id for c in found}
        sql, args = workers_query(opening, origins, exact=False, limit=limit)
        rest = [c for c in map(_candidate, await conn.fetch(sql, *args)) if c.worker_id not in seen]
        found += rest[: limit - len(found)]
    return found


def demands_query(
    candidate: Candidate, destinations: list[str], *, exact: bool, limit: int
) -> tuple[str, list[Any]]:
    """One tier of the open demands of ``destinations`` for ``candidate``."""
    codes = list(candidate.occupations)
    args: list[Any] = [
        codes if exact else sorted({c[:GROUP] for c in codes}),
        destinations,
        candidate.brand_id,
        candidate.wage_min or 0,
        limit,
    ]
    return (DEMANDS_EXACT, args) if exact else (DEMANDS_GROUP, [*args, codes])


async def openings(
    conn: Reader, candidate: Candidate, destinations: list[str], limit: int
) -> list[Opening]:
    """Up to ``limit`` open demands of ``destinations`` for ``candidate``: its occupations
    first, then their groups."""
    if not destinations:
        return []
    sql, args = demands_query(candidate, destinations, exact=True, limit=limit)
    found = [_opening(r) for r in await conn.fetch(sql, *args)]
    if len(found) < limit:
        sql, args = demands_query(candidate, destinations, exact=False, limit=limit - len(found))
        found += [_opening(r) for r in await conn.fetch(sql, *args)]
    return found
