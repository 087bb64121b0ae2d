"""All SQL of the gateway's views: the lists (``*_query``: exactly what ``tests/
test_list_indexes.py`` explains) and the aggregates of the overviews, corridors and brand impact.

Lists keep the services' filters and apply the viewer's scope (``views.authorization``) as a
condition of their own, built with :class:`~laborcoop.common.store.Where` so that a cached plan
sees which filters apply. Aggregates take a :class:`PlacementSet` (which placements they count)
or a province; counts of placements leave out declined proposals where they measure flows
(corridors, brands, targets: what happened), and count every status where they say ``by
status``.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Final
from uuid import UUID

import asyncpg

from laborcoop.common.db import Connection
from laborcoop.common.store import Where
from laborcoop.contracts import topics
from laborcoop.gateway.views.authorization import AgreementScope

Rows = list[asyncpg.Record]

# -- lists --------------------------------------------------------------------------------------

AGREEMENT_COLUMNS: Final = (
    "agreement_id AS id, status, revision, terms, version, created_at, updated_at, parties,"
    " signatures, amendment, amendment_signatures"
)


@dataclass(frozen=True)
class AgreementFilter:
    """The agreements service's list filters, by the same names."""

    party: str | None = None
    kind: str | None = None
    status: str | None = None
    area: str | None = None
    brand: UUID | None = None
    origin: str | None = None
    destination: str | None = None
    active_on: date | None = None
    timezone: str = "Asia/Shanghai"


_AGREEMENT_CONDITIONS: Final = {
    "party": "parties @> ARRAY[{}::text]",
    "kind": "kind = {}",
    "status": "status = {}",
    "area": "areas @> ARRAY[{}::text]",
    "brand": "linked_brands @> ARRAY[{}::uuid]",
}
"""Containment is written ``@>``, which the GIN indexes serve (``= ANY`` is not)."""

_SEES_AS_PROVINCE: Final = "parties @> ARRAY[{0}::text] AND (status <> 'draft' OR initiator = {0})"
"""``authorization.sees_agreement`` for a province: a party, and a draft only its initiator's."""

_IN_FORCE: Final = (
    "status IN ('active', 'expired', 'terminated')"
    " AND daterange(effective_from, effective_to, '[]') @> {0}::date"
    " AND (status <> 'terminated' OR (updated_at AT TIME ZONE {1})::date > {0})"
)
"""In force on a day (also if it has ended since), as the agreements service's ``active_on``:
``agreement_view_in_force`` serves the range. A terminated agreement's last event is its
termination, so ``updated_at`` is when it ended."""


def agreements_query(
    scope: AgreementScope, where: AgreementFilter, *, after: UUID | None, limit: int
) -> tuple[str, list[Any]]:
    """The agreements the scope sees, filtered. ``kind`` and ``status`` have indexes in cursor
    order; the others are containment or ranges (GIN, GiST) followed by a top-N sort."""
    conditions = Where()
    if scope.province is not None:
        conditions.always(_SEES_AS_PROVINCE, scope.province)
    if scope.public_states is not None:
        conditions.always("status = ANY({}::text[])", list(scope.public_states))
    for name, template in _AGREEMENT_CONDITIONS.items():
        conditions.add(template, getattr(where, name))
    if where.origin is not None and where.destination is not None:
        conditions.always(
            "target_corridors @> ARRAY[{}::text]", f"{where.origin}>{where.destination}"
        )
    else:
        conditions.add("corridor_origins(target_corridors) @> ARRAY[{}::text]", where.origin)
        conditions.add(
            "corridor_destinations(target_corridors) @> ARRAY[{}::text]", where.destination
        )
    conditions.add(_IN_FORCE, where.active_on, where.timezone)
    conditions.add("agreement_id > {}", after)
    size = conditions.placeholder(limit)
    return (
        f"SELECT {AGREEMENT_COLUMNS} FROM agreement_view {conditions.sql}"
        f" ORDER BY agreement_id LIMIT {size}",
        conditions.args,
    )


@dataclass(frozen=True)
class DemandFilter:
    """The placements service's demand list filters, by the same names."""

    province: str | None = None
    occupation: str | None = None
    status: str | None = None
    brand: UUID | None = None


DEMAND_COLUMNS: Final = (
    "demand_id AS id, province, kind, status, employer_name, employer_credit_code, occupation,"
    " headcount, wage_min, wage_max, city_code, start_date, end_date, preferred_brands,"
    " closed_reason, version, created_at, updated_at"
)


def demands_query(
    scope: str | None, where: DemandFilter, *, after: UUID | None, limit: int
) -> tuple[str, list[Any]]:
    """The demands of province ``scope`` (None: all), filtered; ``province``, ``status`` and
    ``occupation`` have indexes in cursor order, ``brand`` its GIN index and a top-N sort."""
    conditions = (
        Where()
        .add("province = {}", scope)
        .add("province = {}", where.province)
        .add("occupation = {}", where.occupation)
        .add("status = {}", where.status)
        .add("preferred_brands @> ARRAY[{}::uuid]", where.brand)
        .add("demand_id > {}", after)
    )
    size = conditions.placeholder(limit)
    return (
        f"SELECT {DEMAND_COLUMNS} FROM demand_view {conditions.sql}"
        f" ORDER BY demand_id LIMIT {size}",
        conditions.args,
    )


@dataclass(frozen=True)
class PlacementFilter:
    """The placements service's placement list filters, by the same names; ``province`` is the
    viewer's (it sees the placements it is a side of), ``proposed`` the instants ``[from, to)``
    of the ``period`` filter in the calendar's time zone."""

    province: str
    origin: str | None = None
    destination: str | None = None
    status: str | None = None
    brand: UUID | None = None
    agreement: UUID | None = None
    proposed: tuple[datetime, datetime] | None = None


PLACEMENT_COLUMNS: Final = (
    "placement_id AS id, status, worker_id, demand_id, origin, destination, occupation,"
    " brand_id, agreement_id, beyond_target, proposed_at, onboarded_on, retained_3m_on,"
    " retained_6m_on, completed_on, terminated_at, returned_on, end_reason, follow_up,"
    " follow_up_note, version, updated_at"
)


def placements_query(
    where: PlacementFilter, *, after: UUID | None, limit: int
) -> tuple[str, list[Any]]:
    """As the placements service: a corridor naming the viewer's province needs no further
    condition (``placement_view_corridor`` serves it in cursor order); one end given that is
    another province fixes the other end to the viewer's; otherwise either side."""
    origin, destination, province = where.origin, where.destination, where.province
    if province not in (origin, destination):
        if origin is not None and destination is None:
            destination = province
        elif destination is not None and origin is None:
            origin = province
    conditions = Where()
    if province not in (origin, destination):
        conditions.always("(origin = {0} OR destination = {0})", province)
    proposed = where.proposed or (None, None)
    conditions = (
        conditions.add("origin = {}", origin)
        .add("destination = {}", destination)
        .add("status = {}", where.status)
        .add("brand_id = {}", where.brand)
        .add("agreement_id = {}", where.agreement)
        .add("proposed_at >= {} AND proposed_at < {}", *proposed)
        .add("placement_id > {}", after)
    )
    size = conditions.placeholder(limit)
    return (
        f"SELECT {PLACEMENT_COLUMNS} FROM placement_view {conditions.sql}"
        f" ORDER BY placement_id LIMIT {size}",
        conditions.args,
    )


async def fetch(conn: Connection, query: tuple[str, list[Any]]) -> Rows:
    sql, args = query
    return await conn.fetch(sql, *args)


# -- how far behind -------------------------------------------------------------------------

NEWEST: Final = {
    topics.BRANDS: "brand_view",
    topics.AGREEMENTS: "agreement_view",
    topics.DEMANDS: "demand_view",
    topics.WORKERS: "worker_view",
    topics.PLACEMENTS: "placement_view",
}
"""The table whose ``updated_at`` is the time of the newest event applied from each topic: every
event of the topic that is applied moves its row's ``updated_at`` (an index on it makes the
maximum one index probe)."""


async def freshness(conn: Connection, wanted: Sequence[str]) -> Rows:
    """Per topic of ``wanted``: the newest applied event's time, and the lag last measured;
    each row also names the snapshot they were read in (``pg_current_snapshot()``, in a
    ``REPEATABLE READ`` transaction the transaction's): equal snapshots see the same rows."""
    values = ", ".join(
        f"(${i}::text, (SELECT max(updated_at) FROM {NEWEST[topic]}))"
        for i, topic in enumerate(wanted, start=1)
    )
    return await conn.fetch(
        f"""SELECT f.topic, f.last_event_at, l.lag, l.measured_at,
                   pg_current_snapshot()::text AS snapshot
            FROM (VALUES {values}) AS f (topic, last_event_at)
            LEFT JOIN view_lag AS l ON l.topic = f.topic
            ORDER BY f.topic""",
        *wanted,
    )


async def record_lag(
    conn: Connection, topic: str, group: str, lag: int, measured_at: datetime
) -> None:
    await conn.execute(
        """INSERT INTO view_lag (topic, consumer_group, lag, measured_at) VALUES ($1, $2, $3, $4)
           ON CONFLICT (topic) DO UPDATE
           SET consumer_group = EXCLUDED.consumer_group, lag = EXCLUDED.lag,
               measured_at = EXCLUDED.measured_at""",
        topic,
        group,
        lag,
        measured_at,
    )


# -- aggregates of placements -------------------------------------------------------------------


@dataclass(frozen=True)
class PlacementSet:
    """Which placements an aggregate counts: from ``origin``, to ``destination``, of workers of
    ``brand`` (all that are given), or with ``either`` as one of their sides; none: all."""

    origin: str | None = None
    destination: str | None = None
    brand: UUID | None = None
    either: str | None = None

    def where(self, alias: str = "") -> Where:
        """The conditions, on columns of ``placement_view`` named ``alias.column`` if given."""
        a = f"{alias}." if alias else ""
        return (
            Where()
            .add(f"{a}origin = {{}}", self.origin)
            .add(f"{a}destination = {{}}", self.destination)
            .add(f"{a}brand_id = {{}}", self.brand)
            .add(f"({a}origin = {{0}} OR {a}destination = {{0}})", self.either)
        )


async def placements_by_status(conn: Connection, which: PlacementSet) -> dict[str, int]:
    where = which.where()
    rows = await conn.fetch(
        f"SELECT status, count(*) AS n FROM placement_view {where.sql} GROUP BY status",
        *where.args,
    )
    return {r["status"]: r["n"] for r in rows}


_MONTHS: Final = """
SELECT m.month,
       count(*) FILTER (WHERE m.step = 'proposed') AS proposed,
       count(*) FILTER (WHERE m.step = 'onboarded') AS onboarded,
       count(*) FILTER (WHERE m.step = 'returned') AS returned
FROM placement_view AS p,
     LATERAL (VALUES ('proposed', to_char(p.proposed_at AT TIME ZONE {tz}, 'YYYY-MM')),
                     ('onboarded', to_char(p.onboarded_on, 'YYYY-MM')),
                     ('returned', to_char(p.returned_on, 'YYYY-MM'))) AS m (step, month)
{where} {also} m.month IS NOT NULL
GROUP BY m.month ORDER BY m.month
"""


async def placements_by_month(conn: Connection, which: PlacementSet, timezone: str) -> Rows:
    """Per calendar month: placements proposed (in ``timezone``), onboarded and returned home."""
    where = which.where()
    tz = where.placeholder(timezone)
    sql = _MONTHS.format(tz=tz, where=where.sql, also="AND" if where.conditions else "WHERE")
    return await conn.fetch(sql, *where.args)


async def corridor_flows(
    conn: Connection, pairs: Sequence[tuple[str, str]], timezone: str
) -> tuple[Rows, Rows]:
    """For each corridor of ``pairs``: its placements by status, and by month (as
    :func:`placements_by_month`)."""
    origins = [o for o, _ in pairs]
    destinations = [d for _, d in pairs]
    pairs_sql = "(origin, destination) IN (SELECT * FROM unnest($1::text[], $2::text[]))"
    by_status = await conn.fetch(
        f"""SELECT origin, destination, status, count(*) AS n FROM placement_view
            WHERE {pairs_sql} GROUP BY origin, destination, status""",
        origins,
        destinations,
    )
    by_month = await conn.fetch(
        f"""SELECT p.origin, p.destination, m.month,
               count(*) FILTER (WHERE m.step = 'proposed') AS proposed,
               count(*) FILTER (WHERE m.step = 'onboarded') AS onboarded,
               count(*) FILTER (WHERE m.step = 'returned') AS returned
            FROM placement_view AS p,
                 LATERAL (VALUES ('proposed', to_char(p.proposed_at AT TIME ZONE $3, 'YYYY-MM')),
                                 ('onboarded', to_char(p.onboarded_on, 'YYYY-MM')),
                                 ('returned', to_char(p.returned_on, 'YYYY-MM'))) AS m (step, month)
            WHERE {pairs_sql} AND m.month IS NOT NULL
            GROUP BY p.origin, p.destination, m.month ORDER BY m.month""",
        origins,
        destinations,
        timezone,
    )
    return by_status, by_month


async def top_corridors(conn: Connection, which: PlacementSet, limit: int = 10) -> Rows:
    where = which.where().always("status <> 'declined'")
    size = where.placeholder(limit)
    return await conn.fetch(
        f"""SELECT origin, destination, count(*) AS placements FROM placement_view {where.sql}
            GROUP BY origin, destination ORDER BY placements DESC, origin, destination
            LIMIT {size}""",
        *where.args,
    )


async def top_brands(conn: Connection, which: PlacementSet, limit: int = 10) -> Rows:
    where = which.where("p").always("p.status <> 'declined'").always("p.brand_id IS NOT NULL")
    size = where.placeholder(limit)
    return await conn.fetch(
        f"""SELECT p.brand_id, b.name, b.province, count(*) AS placements
            FROM placement_view AS p LEFT JOIN brand_view AS b USING (brand_id) {where.sql}
            GROUP BY p.brand_id, b.name, b.province
            ORDER BY placements DESC, p.brand_id LIMIT {size}""",
        *where.args,
    )


async def returns_by_follow_up(conn: Connection, which: PlacementSet) -> dict[str, int]:
    where = which.where().always("status = 'returned'")
    rows = await conn.fetch(
        f"SELECT follow_up, count(*) AS n FROM placement_view {where.sql} GROUP BY follow_up",
        *where.args,
    )
    return {r["follow_up"]: r["n"] for r in rows}


async def counted_against(conn: Connection, agreement_ids: Sequence[UUID], timezone: str) -> Rows:
    """Placements counted against each agreement (not declined, as the placements service counts
    them against a target), per corridor and quarter of proposal in ``timezone``."""
    return await conn.fetch(
        """SELECT agreement_id, origin, destination,
                  to_char(proposed_at AT TIME ZONE $2, 'YYYY-"Q"Q') AS quarter, count(*) AS n
           FROM placement_view
           WHERE agreement_id = ANY($1::uuid[]) AND status <> 'declined'
           GROUP BY agreement_id, origin, destination, quarter""",
        list(agreement_ids),
        timezone,
    )


# -- agreements, workers, demands, brands -------------------------------------------------------

AGREEMENT_RECORD: Final = (
    "agreement_id, status, kind, title, initiator, parties, corridors, effective_from,"
    " effective_to, terms"
)


async def agreement_counts(
    conn: Connection,
    *,
    party: str | None = None,
    brand: UUID | None = None,
    drafts_of: str | None = None,
) -> Rows:
    """Agreements by kind and status, of ``party`` or linking ``brand`` (none: all); drafts only
    those ``drafts_of`` initiated (``authorization.counts_agreement``)."""
    where = (
        Where()
        .add("parties @> ARRAY[{}::text]", party)
        .add("linked_brands @> ARRAY[{}::uuid]", brand)
    )
    if drafts_of is None:
        where.always("status <> 'draft'")
    else:
        where.always("(status <> 'draft' OR initiator = {})", drafts_of)
    return await conn.fetch(
        f"SELECT kind, status, count(*) AS n FROM agreement_view {where.sql} GROUP BY kind, status",
        *where.args,
    )


async def active_agreements_of(conn: Connection, province: str) -> Rows:
    return await conn.fetch(
        f"""SELECT {AGREEMENT_RECORD} FROM agreement_view
            WHERE status = 'active' AND parties @> ARRAY[$1::text] ORDER BY agreement_id""",
        province,
    )


async def covering(conn: Connection, corridors: Sequence[str]) -> Rows:
    """The active agreements covering any of ``corridors`` (``agreement_view_covering``)."""
    return await conn.fetch(
        f"""SELECT {AGREEMENT_RECORD} FROM agreement_view
            WHERE status = 'active' AND corridors && $1::text[]
            ORDER BY effective_from, agreement_id""",
        list(corridors),
    )


async def linking(conn: Connection, brand: UUID, limit: int) -> Rows:
    return await conn.fetch(
        f"""SELECT {AGREEMENT_RECORD} FROM agreement_view
            WHERE linked_brands @> ARRAY[$1::uuid] ORDER BY agreement_id LIMIT $2""",
        brand,
        limit,
    )


async def workers_by_availability(
    conn: Connection, *, origin: str | None = None, brand: UUID | None = None
) -> dict[str, int]:
    where = Where().add("origin = {}", origin).add("brand_id = {}", brand)
    rows = await conn.fetch(
        f"SELECT availability, count(*) AS n FROM worker_view {where.sql} GROUP BY availability",
        *where.args,
    )
    return {r["availability"]: r["n"] for r in rows}


async def demands_by_status(conn: Connection) -> Rows:
    return await conn.fetch(
        "SELECT status, count(*) AS n, sum(headcount) AS headcount FROM demand_view GROUP BY status"
    )


INDICATOR_COLUMNS: Final = (
    "period, revision, practitioners, jobs_created, people_trained, labour_income_yuan,"
    " output_value_yuan, average_monthly_wage_yuan, skilled_share, satisfaction, source,"
    " reported_at"
)


async def brand(conn: Connection, brand_id: UUID) -> asyncpg.Record | None:
    return await conn.fetchrow(
        "SELECT brand_id AS id, name, province, category, status, level, version"
        " FROM brand_view WHERE brand_id = $1",
        brand_id,
    )


async def indicators(conn: Connection, brand_id: UUID) -> Rows:
    return await conn.fetch(
        f"SELECT {INDICATOR_COLUMNS} FROM brand_indicator_view WHERE brand_id = $1 ORDER BY period",
        brand_id,
    )


async def brands_of(conn: Connection, province: str) -> int:
    """How many brands the province has."""
    count: int = await conn.fetchval(
        "SELECT count(*) FROM brand_view WHERE province = $1", province
    )
    return count


async def brands_with_latest(conn: Connection, province: str, limit: int) -> Rows:
    """The province's brands by name, each with its latest period's indicators (if any)."""
    prefixed = ", ".join(f"i.{c.strip()} AS i_{c.strip()}" for c in INDICATOR_COLUMNS.split(","))
    return await conn.fetch(
        f"""SELECT b.brand_id AS id, b.name, b.province, b.category, b.status, b.level,
                   b.version, {prefixed}
            FROM brand_view AS b
            LEFT JOIN LATERAL (SELECT * FROM brand_indicator_view AS x
                               WHERE x.brand_id = b.brand_id
                               ORDER BY x.period DESC LIMIT 1) AS i ON true
            WHERE b.province = $1 ORDER BY b.name, b.brand_id LIMIT $2""",
        province,
        limit,
    )


async def brand_counts(conn: Connection) -> Rows:
    return await conn.fetch(
        "SELECT status, level, count(*) AS n FROM brand_view GROUP BY status, level"
    )


async def latest_indicator_totals(conn: Connection) -> asyncpg.Record | None:
    """Sums over the brands of each one's latest period: what the brands report today."""
    return await conn.fetchrow(
        """SELECT count(*) AS brands, sum(practitioners)::bigint AS practitioners,
                  sum(jobs_created)::bigint AS jobs_created,
                  sum(people_trained)::bigint AS people_trained,
                  sum(labour_income_yuan)::bigint AS labour_income_yuan,
                  sum(output_value_yuan)::bigint AS output_value_yuan
           FROM (SELECT DISTINCT ON (brand_id) * FROM brand_indicator_view
                 ORDER BY brand_id, period DESC) AS latest"""
    )


PROVINCE_FIGURES: Final = {
    "brands": "SELECT province AS code, count(*) AS n FROM brand_view GROUP BY 1",
    "active_agreements": "SELECT unnest(parties) AS code, count(*) AS n FROM agreement_view"
    " WHERE status = 'active' GROUP BY 1",
    "workers": "SELECT origin AS code, count(*) AS n FROM worker_view GROUP BY 1",
    "placements_outbound": "SELECT origin AS code, count(*) AS n FROM placement_view"
    " WHERE status <> 'declined' GROUP BY 1",
    "placements_inbound": "SELECT destination AS code, count(*) AS n FROM placement_view"
    " WHERE status <> 'declined' GROUP BY 1",
    "open_demands": "SELECT province AS code, count(*) AS n FROM demand_view"
    " WHERE status = 'open' GROUP BY 1",
}
"""The headline figures of each province in ``GET /v1/provinces``."""


async def province_figures(conn: Connection) -> dict[str, dict[str, int]]:
    """Each figure of :data:`PROVINCE_FIGURES`, by province code."""
    figures: dict[str, dict[str, int]] = {}
    for name, sql in PROVINCE_FIGURES.items():
        figures[name] = {r["code"].strip(): r["n"] for r in await conn.fetch(sql)}
    return figures


_CORRIDORS: Final = """
WITH known AS (
    SELECT DISTINCT origin::text AS origin, destination::text AS destination FROM placement_view
    UNION
    SELECT split_part(c, '>', 1), split_part(c, '>', 2)
    FROM agreement_view, unnest(corridors) AS c WHERE status = 'active'
)
SELECT origin, destination FROM known {where} ORDER BY origin, destination LIMIT {size}
"""


async def corridors(
    conn: Connection,
    *,
    origin: str | None,
    destination: str | None,
    after: tuple[str, str] | None,
    limit: int,
) -> list[tuple[str, str]]:
    """The corridors with placements or covered by an active agreement, in (origin, destination)
    order after ``after``."""
    where = Where().add("origin = {}", origin).add("destination = {}", destination)
    where.add("(origin, destination) > ({}, {})", *(after or (None, None)))
    size = where.placeholder(limit)
    rows = await conn.fetch(_CORRIDORS.format(where=where.sql, size=size), *where.args)
    return [(r["origin"], r["destination"]) for r in rows]
