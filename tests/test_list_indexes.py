"""Every list filter of every service is served by an index, shown with ``EXPLAIN`` of the exact
SQL the repositories build, at a realistic row count (20,000 rows, analysed).

Equality filters use an index in cursor order, ``(column, id)``: no sort at all. Containment
(arrays) and ranges (dates) use their GIN or GiST index, which cannot return rows in id order, so
a top-N sort of the matches follows it; a containment that matches a large share of the rows is
answered by walking the primary key in id order until the page is full. Substrings of names
(``q``) have no index (pg_trgm finds no trigrams in Chinese text without a locale): they walk
the primary key too. Nothing ever reads the whole table and sorts it.

Each plan is checked as a custom plan and as the generic plan PostgreSQL switches to once a
prepared statement has run often (asyncpg prepares and caches every statement).
"""

import json
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

import asyncpg
import pytest

from laborcoop.agreements import repository as agreements
from laborcoop.common.auth import Principal, Role
from laborcoop.common.db import connect
from laborcoop.gateway import repository as gateway
from laborcoop.gateway.views import repository as views
from laborcoop.gateway.views.authorization import AgreementScope
from laborcoop.placements.demands import repository as demands
from laborcoop.placements.placements import repository as placements
from laborcoop.placements.workers import repository as workers
from laborcoop.registry import repository as registry
from laborcoop.testing.databases import Databases

ROWS = 20_000
PAGE = 51
CURSOR = UUID(int=2**127)
PLAN_MODES = ["auto", "force_generic_plan"]
Way = tuple[str, bool]
"""An index a plan may use, and whether it must return the rows in id order (no Sort at all)."""

# 31 provinces: 110000, 120000, … 410000 (a code for each, whether real or not).
_PROVINCE = "lpad(((g % 31) + 11)::text, 2, '0') || '0000'"

_BRANDS = f"""
INSERT INTO brands (id, province, name, category, occupations, status, level, version,
                    created_at, updated_at)
SELECT gen_random_uuid(), {_PROVINCE}, '品牌' || g,
       (ARRAY['skilled_trades', 'production_life_services', 'culture_tourism',
              'livelihood_support', 'intangible_heritage', 'emerging_industries',
              'agriculture'])[1 + g % 7],
       ARRAY['4-03-' || lpad((g % 97)::text, 2, '0') || '-' || lpad((g % 13)::text, 2, '0')],
       (ARRAY['registered', 'recognised', 'recognised', 'suspended', 'retired'])[1 + g / 7 % 5],
       (ARRAY[NULL, 'city', 'province', 'national'])[1 + g / 3 % 4],
       1, now(), now()
FROM generate_series(1, {ROWS}) AS g
"""

_AGREEMENTS = f"""
WITH g AS (
    SELECT g, {_PROVINCE} AS a, lpad(((g / 31 % 31) + 11)::text, 2, '0') || '0000' AS b
    FROM generate_series(1, {ROWS}) AS g)
INSERT INTO agreements (id, status, revision, terms, initiator, kind, parties, areas,
                        linked_brands, corridors, effective_from, effective_to, version,
                        created_at, updated_at)
SELECT gen_random_uuid(),
       (ARRAY['draft', 'proposed', 'signed', 'active', 'active', 'expired', 'terminated'])
           [1 + g % 7],
       1, '{{}}', a, (ARRAY['bilateral', 'alliance', 'multilateral'])[1 + g % 3],
       ARRAY[a, b] || CASE WHEN g % 400 = 0 THEN ARRAY['650000'] ELSE '{{}}' END,
       ARRAY[(ARRAY['job_matching', 'joint_training', 'information_sharing',
                    'shared_employees', 'employment_service_alliance'])[1 + g % 5]]
           || CASE WHEN g % 400 = 0 THEN ARRAY['rights_protection'] ELSE '{{}}' END,
       ARRAY[md5(g::text)::uuid], ARRAY[a || '>' || b],
       date '2005-01-01' + g % 7300, date '2005-01-01' + g % 7300 + 365, 1, now(), now()
FROM g
"""

_BRAND_VIEW = f"""
INSERT INTO brand_view (brand_id, name, province, category, status, level, version, updated_at)
SELECT gen_random_uuid(), '品牌' || g, {_PROVINCE},
       (ARRAY['skilled_trades', 'production_life_services', 'culture_tourism',
              'livelihood_support', 'intangible_heritage', 'emerging_industries',
              'agriculture'])[1 + g % 7],
       (ARRAY['registered', 'recognised', 'recognised', 'suspended', 'retired'])[1 + g / 7 % 5],
       (ARRAY[NULL, 'city', 'province', 'national'])[1 + g / 3 % 4],
       1, now()
FROM generate_series(1, {ROWS}) AS g;
"""

# The gateway's views: the same shapes as the services' tables (agreements between 31 × 31
# provinces in every state, demands of 31 provinces, placements along 31 × 31 corridors).
_GATEWAY_VIEWS = f"""
WITH g AS (
    SELECT g, {_PROVINCE} AS a, lpad(((g / 31 % 31) + 11)::text, 2, '0') || '0000' AS b
    FROM generate_series(1, {ROWS}) AS g)
INSERT INTO agreement_view (agreement_id, status, kind, title, initiator, parties, areas,
                            linked_brands, target_corridors, corridors, effective_from,
                            effective_to, revision, terms, version, created_at, updated_at)
SELECT gen_random_uuid(),
       (ARRAY['draft', 'proposed', 'signed', 'active', 'active', 'expired', 'terminated'])
           [1 + g % 7],
       (ARRAY['bilateral', 'alliance', 'regional'])[1 + g % 3], '协议' || g, a,
       ARRAY[a, b] || CASE WHEN g % 400 = 0 THEN ARRAY['650000'] ELSE '{{}}' END,
       ARRAY[(ARRAY['job_matching', 'joint_training', 'information_sharing',
                    'shared_employees', 'employment_service_alliance'])[1 + g % 5]]
           || CASE WHEN g % 400 = 0 THEN ARRAY['rights_protection'] ELSE '{{}}' END,
       ARRAY[md5(g::text)::uuid], ARRAY[a || '>' || b], ARRAY[a || '>' || b, b || '>' || a],
       date '2005-01-01' + g % 7300, date '2005-01-01' + g % 7300 + 365, 1, '{{}}', 1, now(),
       now()
FROM g;
INSERT INTO demand_view (demand_id, province, kind, status, employer_name, employer_credit_code,
                         occupation, headcount, wage_min, wage_max, city_code, start_date,
                         preferred_brands, version, created_at, updated_at)
SELECT md5('d' || g)::uuid, {_PROVINCE}, 'placement',
       (ARRAY['open', 'open', 'filled', 'closed', 'expired'])[1 + g % 5], '用工单位' || g,
       '91350100M000100Y43', '4-10-' || lpad((g % 97)::text, 2, '0') || '-01', 5, 5000, 8000,
       '310115', date '2025-01-01',
       CASE WHEN g % 50 = 0 THEN ARRAY[md5('b' || g % 500)::uuid] ELSE '{{}}' END, 1, now(), now()
FROM generate_series(1, {ROWS}) AS g;
INSERT INTO placement_view (placement_id, worker_id, demand_id, origin, destination,
                            agreement_id, brand_id, occupation, beyond_target, status,
                            proposed_at, version, updated_at)
SELECT md5('p' || g)::uuid, md5('w' || g)::uuid, md5('d' || g)::uuid, {_PROVINCE},
       lpad(((g / 31 % 31) + 11)::text, 2, '0') || '0000',
       CASE WHEN g % 3 > 0 THEN md5('a' || g % 300)::uuid END,
       CASE WHEN g % 10 = 0 THEN md5('b' || g % 500)::uuid END, '4-10-01-01', false,
       (ARRAY['declined', 'completed', 'terminated', 'returned', 'completed'])[1 + g % 5],
       timestamptz '2020-01-01' + (g % 2000) * interval '1 day', 1, now()
FROM generate_series(1, {ROWS}) AS g
"""

# The labour exchange: workers of 31 origins (sealed values are placeholders: plans only),
# demands of 31 provinces, placements along 31 × 31 corridors.
_EXCHANGE = f"""
INSERT INTO workers (id, origin, county, sex, birth_year, name, resident_id, phone,
                     poverty_alleviation, id_index, education, occupations, brand_id,
                     availability, sealed_with, version, created_at, updated_at)
SELECT md5('w' || g)::uuid, {_PROVINCE}, '430524', 'male', 1990, 'k1:x', 'k1:x', 'k1:x', 'k1:x',
       decode(md5(g::text), 'hex'), 'vocational',
       ARRAY['4-10-' || lpad((g % 97)::text, 2, '0') || '-01'],
       CASE WHEN g % 10 = 0 THEN md5('b' || g % 500)::uuid END,
       (ARRAY['available', 'available', 'placed', 'unavailable'])[1 + g % 4],
       'k1', 1, now(), now()
FROM generate_series(1, {ROWS}) AS g;
INSERT INTO demands (id, province, kind, status, employer_name, employer_credit_code,
                     occupation, headcount, wage_min, wage_max, city_code, start_date,
                     open_until, preferred_brands, version, created_at, updated_at)
SELECT md5('d' || g)::uuid, {_PROVINCE}, 'placement',
       (ARRAY['open', 'open', 'filled', 'closed', 'expired'])[1 + g % 5], '用工单位' || g,
       '91350100M000100Y43', '4-10-' || lpad((g % 97)::text, 2, '0') || '-01', 5, 5000, 8000,
       '310115', date '2025-01-01', date '2025-03-01',
       CASE WHEN g % 50 = 0 THEN ARRAY[md5('b' || g % 500)::uuid] ELSE '{{}}' END,
       1, now(), now()
FROM generate_series(1, {ROWS}) AS g;
INSERT INTO placements (id, worker_id, demand_id, origin, destination, agreement_id,
                        outside_agreement, beyond_target, brand_id, occupation, status,
                        proposed_on, version, created_at, updated_at)
SELECT md5('p' || g)::uuid, md5('w' || g)::uuid, md5('d' || g)::uuid, {_PROVINCE},
       lpad(((g / 31 % 31) + 11)::text, 2, '0') || '0000',
       CASE WHEN g % 3 > 0 THEN md5('a' || g % 300)::uuid END, g % 3 = 0, false,
       CASE WHEN g % 10 = 0 THEN md5('b' || g % 500)::uuid END, '4-10-01-01',
       (ARRAY['declined', 'completed', 'terminated', 'returned', 'completed'])[1 + g % 5],
       date '2020-01-01' + g % 2000, 1, now(), now()
FROM generate_series(1, {ROWS}) AS g
"""


async def _seeded(databases: Databases, package: str, seed: str) -> "asyncpg.Connection[Any]":
    conn = await connect(await databases.fresh(package))
    await conn.execute(seed)
    await conn.execute("ANALYZE")
    return conn


@pytest.fixture(scope="module")
async def registry_db(databases: Databases) -> AsyncIterator["asyncpg.Connection[Any]"]:
    conn = await _seeded(databases, "laborcoop.registry.migrations", _BRANDS)
    yield conn
    await conn.close()


@pytest.fixture(scope="module")
async def agreements_db(databases: Databases) -> AsyncIterator["asyncpg.Connection[Any]"]:
    conn = await _seeded(databases, "laborcoop.agreements.migrations", _AGREEMENTS)
    yield conn
    await conn.close()


@pytest.fixture(scope="module")
async def gateway_db(databases: Databases) -> AsyncIterator["asyncpg.Connection[Any]"]:
    conn = await _seeded(databases, "laborcoop.gateway.migrations", _BRAND_VIEW + _GATEWAY_VIEWS)
    yield conn
    await conn.close()


@pytest.fixture(scope="module")
async def placements_db(databases: Databases) -> AsyncIterator["asyncpg.Connection[Any]"]:
    conn = await _seeded(databases, "laborcoop.placements.migrations", _EXCHANGE)
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


def _assert_served(nodes: list[dict[str, Any]], ways: tuple[Way, ...]) -> None:
    """No Seq Scan, and one of ``ways``: its index scanned, and no Sort if it keeps id order."""
    summary = [(n["Node Type"], n.get("Index Name")) for n in nodes]
    assert not any(n["Node Type"] == "Seq Scan" for n in nodes), summary
    scans = {"Index Scan", "Index Only Scan", "Bitmap Index Scan"}
    used = {n.get("Index Name") for n in nodes if n["Node Type"] in scans}
    sorted_ = any(n["Node Type"] == "Sort" for n in nodes)
    assert any(index in used and not (ordered and sorted_) for index, ordered in ways), summary


def ordered(index: str) -> tuple[Way, ...]:
    """Served by ``index`` in cursor order."""
    return ((index, True),)


def matched(index: str) -> tuple[Way, ...]:
    """Served by ``index`` (GIN or GiST), the matches then sorted by id."""
    return ((index, False),)


def common(index: str, pkey: str) -> tuple[Way, ...]:
    """A value many rows hold: served by ``index``, or by walking the primary key in id order
    until the page is full (the planner's choice, both cheap)."""
    return ((index, False), (pkey, True))


BRAND_CASES = [
    ("none", registry.BrandFilter(), ordered("brands_pkey")),
    ("province", registry.BrandFilter(province="310000"), ordered("brands_province")),
    ("category", registry.BrandFilter(category="culture_tourism"), ordered("brands_category")),
    ("level", registry.BrandFilter(level="national"), ordered("brands_level")),
    ("status", registry.BrandFilter(status="suspended"), ordered("brands_status")),
    ("occupation", registry.BrandFilter(occupation="4-03-05-05"), matched("brands_occupations")),
    ("q", registry.BrandFilter(name_contains="品牌12"), ordered("brands_pkey")),
]


@pytest.mark.parametrize("mode", PLAN_MODES)
@pytest.mark.parametrize("after", [None, CURSOR], ids=["first", "next"])
@pytest.mark.parametrize(("where", "ways"), [c[1:] for c in BRAND_CASES],
                         ids=[c[0] for c in BRAND_CASES])  # fmt: skip
async def test_brand_list_filters_use_their_index(
    registry_db: "asyncpg.Connection[Any]",
    mode: str,
    after: UUID | None,
    where: registry.BrandFilter,
    ways: tuple[Way, ...],
) -> None:
    sql, args = registry.search_query(where, after=after, limit=PAGE)
    _assert_served(await _plan(registry_db, mode, sql, args), ways)


F = agreements.AgreementFilter
C = agreements.Corridor
AGREEMENT_CASES = [
    ("none", F(), ordered("agreements_pkey")),
    ("party", F(party="310000"), common("agreements_parties", "agreements_pkey")),
    ("rare party", F(party="650000"), matched("agreements_parties")),
    ("kind", F(kind="multilateral"), ordered("agreements_kind")),
    ("status", F(status="active"), ordered("agreements_status")),
    ("rare area", F(area="rights_protection"), matched("agreements_areas")),
    ("common area", F(area="job_matching"), common("agreements_areas", "agreements_pkey")),
    (
        "brand",
        F(brand=UUID("c4ca4238-a0b9-2382-0dcc-509a6f75849b")),
        matched("agreements_brands"),
    ),
    ("corridor", F(corridor=C("310000", "110000")), matched("agreements_corridors")),
    ("origin", F(corridor=C("310000", None)), matched("agreements_corridor_origins")),
    ("destination", F(corridor=C(None, "310000")), matched("agreements_corridor_destinations")),
    ("active_on", F(active_on=date(2015, 6, 1)), matched("agreements_in_force")),
]
VIEWERS = {
    "province": Principal("hr-310000", "310000", frozenset({Role.PROVINCE})),
    "ministry": Principal("mohrss", None, frozenset({Role.MINISTRY})),
}


@pytest.mark.parametrize("mode", PLAN_MODES)
@pytest.mark.parametrize("viewer", list(VIEWERS))
@pytest.mark.parametrize("after", [None, CURSOR], ids=["first", "next"])
@pytest.mark.parametrize(("where", "ways"), [c[1:] for c in AGREEMENT_CASES],
                         ids=[c[0] for c in AGREEMENT_CASES])  # fmt: skip
async def test_agreement_list_filters_use_their_index(
    agreements_db: "asyncpg.Connection[Any]",
    mode: str,
    viewer: str,
    after: UUID | None,
    where: agreements.AgreementFilter,
    ways: tuple[Way, ...],
) -> None:
    sql, args = agreements.search_query(VIEWERS[viewer], where, after=after, limit=PAGE)
    _assert_served(await _plan(agreements_db, mode, sql, args), ways)


G = gateway.BrandFilter
GATEWAY_CASES = [
    ("none", G(), ordered("brand_view_pkey")),
    ("province", G(province="310000"), ordered("brand_view_province")),
    ("category", G(category="culture_tourism"), ordered("brand_view_category")),
    ("status", G(status="suspended"), ordered("brand_view_status")),
    ("level", G(level="national"), ordered("brand_view_level")),
]


@pytest.mark.parametrize("mode", PLAN_MODES)
@pytest.mark.parametrize("after", [None, CURSOR], ids=["first", "next"])
@pytest.mark.parametrize(("where", "ways"), [c[1:] for c in GATEWAY_CASES],
                         ids=[c[0] for c in GATEWAY_CASES])  # fmt: skip
async def test_gateway_brand_list_filters_use_their_index(
    gateway_db: "asyncpg.Connection[Any]",
    mode: str,
    after: UUID | None,
    where: gateway.BrandFilter,
    ways: tuple[Way, ...],
) -> None:
    sql, args = gateway.brands_query(where, after=after, limit=PAGE)
    _assert_served(await _plan(gateway_db, mode, sql, args), ways)


async def test_the_filters_still_find_what_they_name(
    registry_db: "asyncpg.Connection[Any]", agreements_db: "asyncpg.Connection[Any]"
) -> None:
    """The built queries answer the filters (the plans above prove nothing of a wrong query)."""
    await registry_db.execute("SET plan_cache_mode = auto")
    await agreements_db.execute("SET plan_cache_mode = auto")
    where = registry.BrandFilter(province="310000", name_contains="品牌1")
    brands = await registry.search(registry_db, where, after=None, limit=PAGE)
    assert len(brands) == PAGE
    assert all(b.province == "310000" and "品牌1" in b.attributes.name for b in brands)
    assert [b.id for b in brands] == sorted(b.id for b in brands)
    where = registry.BrandFilter(occupation="4-03-05-05")
    brands = await registry.search(registry_db, where, after=None, limit=PAGE)
    assert brands
    assert all("4-03-05-05" in b.attributes.occupations for b in brands)
    sql, args = agreements.search_query(
        VIEWERS["ministry"], F(corridor=C("310000", None)), after=None, limit=PAGE
    )
    origin = await agreements_db.fetch(sql, *args)
    assert origin
    assert all(r["status"] in {"active", "expired", "terminated"} for r in origin)
    # The list selects what it reads back; `corridors` is a derived column, written only.
    corridors = await agreements_db.fetch(
        "SELECT corridors FROM agreements WHERE id = ANY($1::uuid[])", [r["id"] for r in origin]
    )
    assert len(corridors) == len(origin)
    assert all(r["corridors"][0].startswith("310000>") for r in corridors)


async def test_the_gateway_filters_still_find_what_they_name(
    gateway_db: "asyncpg.Connection[Any]",
) -> None:
    await gateway_db.execute("SET plan_cache_mode = auto")
    where = gateway.BrandFilter(province="310000", category="agriculture", level="city")
    found = await gateway.brands(gateway_db, where, after=None, limit=PAGE)
    assert found
    assert all(
        (r["province"], r["category"], r["level"]) == ("310000", "agriculture", "city")
        for r in found
    )
    assert [r["id"] for r in found] == sorted(r["id"] for r in found)
    retired = await gateway.brands(
        gateway_db, gateway.BrandFilter(status="retired"), after=CURSOR, limit=PAGE
    )
    assert len(retired) == PAGE
    assert all(r["status"] == "retired" and r["id"] > CURSOR for r in retired)


W, D, P = workers.WorkerFilter, demands.DemandFilter, placements.PlacementFilter
BRAND = UUID("3c59dc04-8e8b-5c8e-b8ee-07b5c1d34ab4")
EXCHANGE_CASES = [
    ("workers", workers.search_query, W("310000"), ordered("workers_origin")),
    (
        "workers by availability",
        workers.search_query,
        W("310000", availability="placed"),
        ordered("workers_origin_availability"),
    ),
    (
        "workers by brand",
        workers.search_query,
        W("310000", brand=BRAND),
        ordered("workers_origin_brand"),
    ),
    (
        "workers by occupation",
        workers.search_query,
        W("310000", occupation="4-10-05-01"),
        (("workers_occupations", False), ("workers_origin", True)),
    ),
    ("demands", demands.search_query, D(), ordered("demands_pkey")),
    (
        "demands by province",
        demands.search_query,
        D(province="310000"),
        ordered("demands_province"),
    ),
    ("demands by status", demands.search_query, D(status="filled"), ordered("demands_status")),
    (
        "demands by occupation",
        demands.search_query,
        D(occupation="4-10-05-01"),
        ordered("demands_occupation"),
    ),
    ("demands by brand", demands.search_query, D(brand=BRAND), matched("demands_brands")),
    (
        "placements of a province",
        placements.search_query,
        P("310000"),
        common("placements_corridor", "placements_pkey") + matched("placements_destination"),
    ),
    (
        "placements by status",
        placements.search_query,
        P("310000", status="returned"),
        ordered("placements_status") + matched("placements_corridor"),
    ),
    (
        "placements of a corridor",
        placements.search_query,
        P("310000", origin="310000", destination="110000"),
        matched("placements_corridor"),
    ),
    (
        "placements from another origin",
        placements.search_query,
        P("310000", origin="530000"),
        matched("placements_corridor"),
    ),
    (
        "placements of a brand",
        placements.search_query,
        P("310000", brand=BRAND),
        matched("placements_brand") + matched("placements_corridor"),
    ),
]


@pytest.mark.parametrize("mode", PLAN_MODES)
@pytest.mark.parametrize("after", [None, CURSOR], ids=["first", "next"])
@pytest.mark.parametrize(("query", "where", "ways"), [c[1:] for c in EXCHANGE_CASES],
                         ids=[c[0] for c in EXCHANGE_CASES])  # fmt: skip
async def test_labour_exchange_list_filters_use_their_index(
    placements_db: "asyncpg.Connection[Any]",
    mode: str,
    after: UUID | None,
    query: Any,
    where: Any,
    ways: tuple[Way, ...],
) -> None:
    sql, args = query(where, after=after, limit=PAGE)
    _assert_served(await _plan(placements_db, mode, sql, args), ways)


VA, VD, VP = views.AgreementFilter, views.DemandFilter, views.PlacementFilter
SCOPES = {
    "province": AgreementScope("310000", None),
    "ministry": AgreementScope(None, ("active", "expired", "terminated")),
}
VIEW_AGREEMENT_CASES = [
    # (name, filter, ways for a province, ways for the ministry)
    (
        "none",
        VA(),
        common("agreement_view_parties", "agreement_view_pkey"),
        ordered("agreement_view_pkey") + matched("agreement_view_status"),
    ),
    (
        "party",
        VA(party="320000"),
        matched("agreement_view_parties"),
        common("agreement_view_parties", "agreement_view_pkey"),
    ),
    ("rare party", VA(party="650000"), matched("agreement_view_parties"), ...),
    ("kind", VA(kind="regional"), ..., ordered("agreement_view_kind")),
    ("status", VA(status="active"), ..., ordered("agreement_view_status")),
    ("rare area", VA(area="rights_protection"), ..., matched("agreement_view_areas")),
    ("brand", VA(brand=UUID("c4ca4238-a0b9-2382-0dcc-509a6f75849b")), ..., ...),
    ("corridor", VA(origin="310000", destination="110000"), ..., ...),
    ("origin", VA(origin="320000"), ..., ...),
    ("destination", VA(destination="320000"), ..., ...),
    ("active_on", VA(active_on=date(2015, 6, 1)), ..., ...),
]
"""``...``: served by the filter's own index, or, for a province, by its parties' index (the
scope it always has, often the more selective), the matches sorted."""

_OWN_INDEX = {
    "party": "agreement_view_parties",
    "rare party": "agreement_view_parties",
    "kind": "agreement_view_kind",
    "status": "agreement_view_status",
    "rare area": "agreement_view_areas",
    "brand": "agreement_view_brands",
    "corridor": "agreement_view_target_corridors",
    "origin": "agreement_view_target_origins",
    "destination": "agreement_view_target_destinations",
    "active_on": "agreement_view_in_force",
}


def _view_agreement_ways(name: str, given: Any, viewer: str) -> tuple[Way, ...]:
    """``given``, or: the filter's own index (a value many rows hold: or the primary key walked
    in id order), or, for a province, the index of its parties."""
    if given is not ...:
        ways: tuple[Way, ...] = given
        return ways
    own = _OWN_INDEX[name]
    ways = common(own, "agreement_view_pkey") if name in ("kind", "status") else matched(own)
    return ways + matched("agreement_view_parties") if viewer == "province" else ways


@pytest.mark.parametrize("mode", PLAN_MODES)
@pytest.mark.parametrize("viewer", list(SCOPES))
@pytest.mark.parametrize("after", [None, CURSOR], ids=["first", "next"])
@pytest.mark.parametrize("case", VIEW_AGREEMENT_CASES, ids=[c[0] for c in VIEW_AGREEMENT_CASES])
async def test_gateway_agreement_list_filters_use_their_index(
    gateway_db: "asyncpg.Connection[Any]",
    mode: str,
    viewer: str,
    after: UUID | None,
    case: tuple[Any, ...],
) -> None:
    name, where, province_ways, ministry_ways = case
    ways = _view_agreement_ways(
        name, province_ways if viewer == "province" else ministry_ways, viewer
    )
    sql, args = views.agreements_query(SCOPES[viewer], where, after=after, limit=PAGE)
    _assert_served(await _plan(gateway_db, mode, sql, args), ways)


VIEW_EXCHANGE_CASES = [
    ("demands (ministry)", views.demands_query, None, VD(), ordered("demand_view_pkey")),
    ("demands of a province", views.demands_query, "310000", VD(), ordered("demand_view_province")),
    (
        "demands by province",
        views.demands_query,
        None,
        VD(province="310000"),
        ordered("demand_view_province"),
    ),
    (
        "demands by status",
        views.demands_query,
        None,
        VD(status="filled"),
        ordered("demand_view_status"),
    ),
    (
        "demands by occupation",
        views.demands_query,
        None,
        VD(occupation="4-10-05-01"),
        ordered("demand_view_occupation"),
    ),
    ("demands by brand", views.demands_query, None, VD(brand=BRAND), matched("demand_view_brands")),
    (
        "a province's demands by status",
        views.demands_query,
        "310000",
        VD(status="filled"),
        matched("demand_view_province") + matched("demand_view_status"),
    ),
    (
        "placements of a province",
        None,
        None,
        VP("310000"),
        common("placement_view_corridor", "placement_view_pkey")
        + matched("placement_view_destination"),
    ),
    (
        "placements by status",
        None,
        None,
        VP("310000", status="returned"),
        ordered("placement_view_status") + matched("placement_view_corridor"),
    ),
    (
        "placements of a corridor",
        None,
        None,
        VP("310000", origin="310000", destination="110000"),
        matched("placement_view_corridor"),
    ),
    (
        "placements from another origin",
        None,
        None,
        VP("310000", origin="530000"),
        matched("placement_view_corridor"),
    ),
    (
        "placements of a brand",
        None,
        None,
        VP("310000", brand=BRAND),
        matched("placement_view_brand") + matched("placement_view_corridor"),
    ),
    (
        "placements of an agreement",
        None,
        None,
        VP("310000", agreement=UUID("c4ca4238-a0b9-2382-0dcc-509a6f75849b")),
        matched("placement_view_agreement") + matched("placement_view_corridor"),
    ),
    (
        "placements of a period",
        None,
        None,
        VP(
            "310000",
            proposed=(datetime(2021, 1, 1, tzinfo=UTC), datetime(2021, 4, 1, tzinfo=UTC)),
        ),
        matched("placement_view_proposed_at") + matched("placement_view_corridor"),
    ),
]


@pytest.mark.parametrize("mode", PLAN_MODES)
@pytest.mark.parametrize("after", [None, CURSOR], ids=["first", "next"])
@pytest.mark.parametrize(("query", "scope", "where", "ways"), [c[1:] for c in VIEW_EXCHANGE_CASES],
                         ids=[c[0] for c in VIEW_EXCHANGE_CASES])  # fmt: skip
async def test_gateway_exchange_list_filters_use_their_index(
    gateway_db: "asyncpg.Connection[Any]",
    mode: str,
    after: UUID | None,
    query: Any,
    scope: str | None,
    where: Any,
    ways: tuple[Way, ...],
) -> None:
    if query is None:
        sql, args = views.placements_query(where, after=after, limit=PAGE)
    else:
        sql, args = query(scope, where, after=after, limit=PAGE)
    _assert_served(await _plan(gateway_db, mode, sql, args), ways)


async def test_the_gateway_views_find_what_they_name(
    gateway_db: "asyncpg.Connection[Any]",
) -> None:
    await gateway_db.execute("SET plan_cache_mode = auto")
    found = await views.fetch(
        gateway_db,
        views.agreements_query(SCOPES["province"], VA(origin="320000"), after=None, limit=PAGE),
    )
    assert found
    rows = await gateway_db.fetch(
        "SELECT status, initiator, parties, target_corridors FROM agreement_view"
        " WHERE agreement_id = ANY($1::uuid[])",
        [r["id"] for r in found],
    )
    for r in rows:
        assert "310000" in r["parties"]
        assert r["status"] != "draft" or r["initiator"] == "310000"
        assert any(c.startswith("320000>") for c in r["target_corridors"])
    found = await views.fetch(
        gateway_db, views.demands_query("310000", VD(province="320000"), after=None, limit=PAGE)
    )
    assert found == []
    found = await views.fetch(
        gateway_db, views.placements_query(VP("310000", origin="320000"), after=None, limit=PAGE)
    )
    assert found
    assert all((r["origin"], r["destination"]) == ("320000", "310000") for r in found)
