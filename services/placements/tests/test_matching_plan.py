"""Matching is served by indexes, shown with ``EXPLAIN`` of the exact SQL the repositories run,
at a realistic scale (100,000 workers over the 31 provinces, 20,000 demands, 20,000 agreements
in the copy, vacuumed and analysed), as a custom plan and as the generic plan PostgreSQL
switches to once a prepared statement has run often.

The workers of the covered origins with the demand's occupation (or its group) are an index-only
scan of ``worker_matching_key`` (the narrow rows the triggers of migration 0003 keep), put in the
coarse order and cut at the limit before any worker row is read, by primary key. What is read
grows with the candidates, not with the table: ``bench/matching.py`` shows it at 1,000,000.
"""

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any
from uuid import UUID

import asyncpg
import pytest

from laborcoop.common.db import connect
from laborcoop.placements import corridors
from laborcoop.placements.app import SPEC
from laborcoop.placements.matching import repository
from laborcoop.placements.matching.ranking import Candidate, Opening
from laborcoop.testing.databases import Databases

WORKERS = 100_000
DEMANDS = 20_000
AGREEMENTS = 20_000
LIMIT = 200
PLAN_MODES = ["auto", "force_generic_plan"]
SHANGHAI = "310000"
ORIGINS = ["360000", "450000", "500000", "510000", "520000", "530000"]
BRAND = UUID("c4ca4238-a0b9-3382-8dcc-509a6f75849b")  # md5('1')

_PROVINCES = (
    "ARRAY['110000','120000','130000','140000','150000','210000','220000','230000','310000',"
    "'320000','330000','340000','350000','360000','370000','410000','420000','430000','440000',"
    "'450000','460000','500000','510000','520000','530000','540000','610000','620000','630000',"
    "'640000','650000']"
)
# 252 occupations in 7 groups (6-00 … 6-06); one or two a worker.
_OCCUPATION = (
    "'6-0' || ({n} % 7) || '-' || lpad(({n} / 7 % 12)::text, 2, '0') || '-0' || ({n} / 84 % 3 + 1)"
)

_WORKERS = f"""
INSERT INTO workers (id, origin, county, sex, birth_year, name, resident_id, phone,
                     poverty_alleviation, id_index, education, occupations, certificates, brand_id,
                     wage_min, wage_max, availability, consents, sealed_with, version, created_at,
                     updated_at)
SELECT gen_random_uuid(), p, left(p, 2) || '0102', 'male', 1990, 'k1:x', 'k1:x', 'k1:x', 'k1:x',
       int8send(g), 'junior_secondary',
       ARRAY[{_OCCUPATION.format(n="g")}]
           || CASE WHEN g % 4 = 0 THEN ARRAY[{_OCCUPATION.format(n="(g / 3)")}] ELSE '{{}}' END,
       CASE WHEN g % 3 = 0 THEN '[{{"kind": "vocational_skill", "name": "电工", "level": 3,
                                    "issuer": "x", "year": 2020}}]'::jsonb
            ELSE '[]' END,
       CASE WHEN g % 10 = 0 THEN md5((g % 50)::text)::uuid END,
       CASE WHEN g % 6 = 0 THEN NULL ELSE 4000 + g % 5 * 1000 END,
       CASE WHEN g % 6 = 0 THEN NULL ELSE 7000 + g % 5 * 1000 END,
       (ARRAY['available', 'available', 'available', 'placed', 'unavailable'])[1 + g % 5],
       '[]', 'k1', 1, now(), now()
FROM (SELECT g, ({_PROVINCES})[1 + g % 31] AS p FROM generate_series(1, {WORKERS}) AS g) AS s
"""

_DEMANDS = f"""
INSERT INTO demands (id, province, kind, status, employer_name, employer_credit_code, occupation,
                     headcount, wage_min, wage_max, city_code, start_date, open_until,
                     preferred_brands, version, created_at, updated_at)
SELECT gen_random_uuid(), p, 'placement',
       (ARRAY['open', 'filled', 'closed', 'expired'])[1 + g % 4], '某公司' || g,
       '91310115MA1K4QXX3L', {_OCCUPATION.format(n="g")}, 5, 5000, 9000, left(p, 4) || '01',
       date '2025-04-01', date '2025-06-01',
       CASE WHEN g % 5 = 0 THEN ARRAY[md5((g % 50)::text)::uuid] ELSE '{{}}' END,
       1, now(), now()
FROM (SELECT g, ({_PROVINCES})[1 + g / 7 % 31] AS p FROM generate_series(1, {DEMANDS}) AS g) AS s
"""

# Mostly agreements no longer (or not yet) in force; the active ones cover a corridor each.
_AGREEMENTS = f"""
INSERT INTO agreement_copy (agreement_id, status, kind, revision, terms, corridors, version,
                            updated_at)
SELECT gen_random_uuid(),
       (ARRAY['draft', 'proposed', 'signed', 'active', 'expired', 'terminated', 'expired'])
           [1 + g % 7],
       'bilateral', 1,
       jsonb_build_object(
           'title', '协议' || g, 'kind', 'bilateral', 'initiator', a,
           'effective_from', '2025-01-01',
           'parties', jsonb_build_array(jsonb_build_object('province', a, 'role', 'sending'),
                                        jsonb_build_object('province', b, 'role', 'receiving')),
           'targets', jsonb_build_array(jsonb_build_object(
               'period', '2025', 'origin', a, 'destination', b, 'workers_transferred', g))),
       ARRAY[a || '>' || b], 1, now()
FROM (SELECT g, ({_PROVINCES})[1 + g % 31] AS a, ({_PROVINCES})[1 + g / 31 % 31] AS b
      FROM generate_series(1, {AGREEMENTS}) AS g) AS s
WHERE a <> b
"""


@pytest.fixture(scope="module")
async def db(databases: Databases) -> AsyncIterator["asyncpg.Connection[Any]"]:
    conn = await connect(await databases.fresh(SPEC.migration_package))
    for seed in (_WORKERS, _DEMANDS, _AGREEMENTS):
        await conn.execute(seed)
    # Vacuumed, as autovacuum leaves a table after a load: the visibility map lets the scan of
    # worker_matching_key answer from the index alone.
    await conn.execute("VACUUM ANALYZE")
    yield conn
    await conn.close()


def _nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", []):
        yield from _nodes(child)


async def _plan(
    conn: "asyncpg.Connection[Any]", mode: str, sql: str, args: list[Any]
) -> list[dict[str, Any]]:
    await conn.execute(f"SET plan_cache_mode = {mode}")
    explained = await conn.fetchval(f"EXPLAIN (FORMAT JSON) {sql}", *args)
    document = json.loads(explained) if isinstance(explained, str) else explained
    return list(_nodes(document[0]["Plan"]))


def _assert_served(nodes: list[dict[str, Any]], *indexes: str) -> None:
    """No Seq Scan anywhere, and one of ``indexes`` scanned."""
    summary = [(n["Node Type"], n.get("Index Name")) for n in nodes]
    assert not any(n["Node Type"] == "Seq Scan" for n in nodes), summary
    scans = {"Index Scan", "Index Only Scan", "Bitmap Index Scan"}
    used = {n.get("Index Name") for n in nodes if n["Node Type"] in scans}
    assert used & set(indexes), summary


OPENING = Opening(
    demand_id=UUID(int=1),
    province=SHANGHAI,
    city_code="310115",
    occupation="6-01-01-01",
    wage_min=6000,
    wage_max=8000,
    preferred_brands=frozenset({BRAND}),
)
CANDIDATE = Candidate(
    worker_id=UUID(int=2),
    origin="530000",
    county="530102",
    occupations=("6-01-01-01", "6-03-02-02"),
    brand_id=BRAND,
    wage_min=6000,
    wage_max=8000,
)


@pytest.mark.parametrize("mode", PLAN_MODES)
@pytest.mark.parametrize("exact", [True, False], ids=["exact", "group"])
async def test_the_workers_for_a_demand_come_from_worker_matching(
    db: "asyncpg.Connection[Any]", mode: str, exact: bool
) -> None:
    sql, args = repository.workers_query(OPENING, ORIGINS, exact=exact, limit=LIMIT)
    nodes = await _plan(db, mode, sql, args)
    _assert_served(nodes, "worker_matching_key")
    ways = {(n["Node Type"], n.get("Index Name")) for n in nodes}
    assert ("Index Only Scan", "worker_matching_key") in ways, ways
    assert any(index == "workers_pkey" for _, index in ways), ways


@pytest.mark.parametrize("mode", PLAN_MODES)
@pytest.mark.parametrize(
    ("exact", "indexes"),
    [(True, ("demands_open",)), (False, ("demands_open_groups",))],
    ids=["exact", "group"],
)
async def test_the_demands_for_a_worker_come_from_the_open_demands_indexes(
    db: "asyncpg.Connection[Any]", mode: str, exact: bool, indexes: tuple[str, ...]
) -> None:
    destinations = [SHANGHAI, "320000", "330000", "440000"]
    sql, args = repository.demands_query(CANDIDATE, destinations, exact=exact, limit=LIMIT)
    _assert_served(await _plan(db, mode, sql, args), *indexes)


A_DEMAND = UUID(int=3)
A_WORKER = UUID(int=4)


@pytest.mark.parametrize("mode", PLAN_MODES)
@pytest.mark.parametrize(
    ("sql", "args", "indexes"),
    [
        (corridors.COVERING_QUERY, ["530000>310000"], ("agreement_copy_corridors",)),
        (
            f"SELECT {corridors.covered_origins_sql('$1')}",
            [SHANGHAI],
            ("agreement_copy_destinations",),
        ),
        (
            f"SELECT {corridors.covered_destinations_sql('$1')}",
            ["530000"],
            ("agreement_copy_origins",),
        ),
        (repository.DEMAND_QUERY, [A_DEMAND], ("demands_pkey", "agreement_copy_destinations")),
        (repository.WORKER_QUERY, [A_WORKER], ("workers_pkey", "agreement_copy_origins")),
    ],
    ids=["covering", "origins", "destinations", "demand", "worker"],
)
async def test_the_corridors_come_from_the_active_agreements_indexes(
    db: "asyncpg.Connection[Any]", mode: str, sql: str, args: list[Any], indexes: tuple[str, ...]
) -> None:
    nodes = await _plan(db, mode, sql, args)
    for index in indexes:
        _assert_served(nodes, index)


async def test_the_queries_find_what_they_name(db: "asyncpg.Connection[Any]") -> None:
    """The plans above prove nothing of a wrong query: the rows are the right ones."""
    await db.execute("SET plan_cache_mode = auto")
    origins = await corridors.covered_origins(db, SHANGHAI)
    assert origins
    assert SHANGHAI not in origins
    found = await repository.candidates(db, OPENING, origins, LIMIT)
    assert len(found) == LIMIT
    rows = await db.fetch(
        "SELECT id, origin, availability, occupations FROM workers WHERE id = ANY($1::uuid[])",
        [c.worker_id for c in found],
    )
    assert all(r["origin"] in origins and r["availability"] == "available" for r in rows)
    assert all(any(o.startswith("6-01") for o in r["occupations"]) for r in rows)
    exact = [c for c in found if OPENING.occupation in c.occupations]
    assert found[: len(exact)] == exact  # the exact occupation first
    preferred = [c for c in exact if c.brand_id == BRAND]
    assert exact[: len(preferred)] == preferred  # then a preferred brand
    total = await db.fetchval(
        "SELECT count(*) FROM workers WHERE availability = 'available' AND origin = ANY($1) "
        "AND $2 = ANY(occupations)",
        origins,
        OPENING.occupation,
    )
    assert len(exact) == min(total, LIMIT)

    destinations = await corridors.covered_destinations(db, CANDIDATE.origin)
    openings = await repository.openings(db, CANDIDATE, destinations, LIMIT)
    assert openings
    assert all(o.province in destinations for o in openings)
    assert all(o.occupation[:4] in {"6-01", "6-03"} for o in openings)
    covers = await corridors.covering_agreements(db, CANDIDATE.origin, destinations[0])
    assert covers
    assert all(c.target("2025") for c in covers)
    assert covers == sorted(covers, key=lambda c: (c.effective_from, c.agreement_id))
