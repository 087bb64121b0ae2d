"""The views: each one reads the projections in one read-only snapshot (``REPEATABLE READ``), so
its parts add up, and answers only what the caller may see (``views.authorization``).

Days and months are calendar days of ``LABORCOOP_TIMEZONE`` (the services' calendar): a
placement's ``proposed_on`` is its proposal's instant there, and the ``period`` filter and the
targets' periods are its years and quarters.

A province's overview (the widest view, read by every province's dashboard) is kept in
:class:`Answers` by the database snapshot it was read in: while no transaction has written
since, the same question gets the same answer without reading the projections again.
"""

from collections import OrderedDict, defaultdict
from collections.abc import AsyncIterator, Callable, Hashable, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import date, datetime, time
from typing import Any, Final
from uuid import UUID
from zoneinfo import ZoneInfo

import asyncpg

from laborcoop.common.clock import Clock
from laborcoop.common.db import Connection, Pool
from laborcoop.common.errors import InvalidInput, NotFound
from laborcoop.common.pagination import encode_cursor, page_of
from laborcoop.contracts import topics
from laborcoop.contracts.agreements import Terms
from laborcoop.contracts.corridors import corridor
from laborcoop.contracts.provinces import PROVINCES
from laborcoop.gateway.views import repository
from laborcoop.gateway.views.authorization import (
    View,
    Viewer,
    agreement_scope,
    demand_scope,
    placement_scope,
    require,
    sees_agreement,
    sees_records_of,
)
from laborcoop.gateway.views.projections import GROUP_OF
from laborcoop.gateway.views.repository import PlacementSet
from laborcoop.gateway.views.schemas import (
    AgreementCounts,
    AgreementItem,
    AgreementRef,
    BrandCount,
    BrandFigures,
    BrandImpact,
    BrandTotals,
    Corridor,
    CorridorAgreement,
    CorridorCount,
    DemandItem,
    DemandTotals,
    Flows,
    Freshness,
    Indicators,
    MonthFlow,
    NationalOverview,
    PlacementItem,
    ProvinceOverview,
    ProvinceSummary,
    Returns,
    TargetActual,
    ViewPage,
    WorkerCounts,
)

BRANDS_SHOWN: Final = 200
"""Most brands a province overview lists, and most agreements a brand impact names."""

EVERY_TOPIC: Final = (
    topics.AGREEMENTS,
    topics.BRANDS,
    topics.DEMANDS,
    topics.PLACEMENTS,
    topics.WORKERS,
)


def period_bounds(period: str, timezone: ZoneInfo) -> tuple[datetime, datetime]:
    """The instants ``[from, to)`` of a year ``2025`` or quarter ``2025-Q1`` in ``timezone``."""
    year = int(period[:4])
    if len(period) == 4:
        first, following = date(year, 1, 1), date(year + 1, 1, 1)
    else:
        quarter = int(period[6])
        first = date(year, 3 * quarter - 2, 1)
        following = date(year + 1, 1, 1) if quarter == 4 else date(year, 3 * quarter + 1, 1)
    return (
        datetime.combine(first, time(), timezone),
        datetime.combine(following, time(), timezone),
    )


def _flows(by_status: Mapping[str, int], months: Iterable[asyncpg.Record]) -> Flows:
    return Flows(
        total=sum(by_status.values()),
        by_status=dict(sorted(by_status.items())),
        by_month=[
            MonthFlow(
                month=r["month"],
                proposed=r["proposed"],
                onboarded=r["onboarded"],
                returned=r["returned"],
            )
            for r in months
        ],
    )


def _agreement_counts(rows: Iterable[asyncpg.Record]) -> AgreementCounts:
    by_kind: dict[str, int] = defaultdict(int)
    by_status: dict[str, int] = defaultdict(int)
    for r in rows:
        by_kind[r["kind"]] += r["n"]
        by_status[r["status"]] += r["n"]
    return AgreementCounts(
        total=sum(by_kind.values()),
        by_kind=dict(sorted(by_kind.items())),
        by_status=dict(sorted(by_status.items())),
    )


def _workers(by_availability: Mapping[str, int]) -> WorkerCounts:
    return WorkerCounts(
        total=sum(by_availability.values()), by_availability=dict(sorted(by_availability.items()))
    )


def _returns(by_follow_up: Mapping[str, int]) -> Returns:
    return Returns(
        total=sum(by_follow_up.values()), by_follow_up=dict(sorted(by_follow_up.items()))
    )


def _corridor_counts(rows: Iterable[asyncpg.Record]) -> list[CorridorCount]:
    return [
        CorridorCount(origin=r["origin"], destination=r["destination"], placements=r["placements"])
        for r in rows
    ]


def _brand_counts(rows: Iterable[asyncpg.Record]) -> list[BrandCount]:
    return [
        BrandCount(
            brand_id=r["brand_id"],
            name=r["name"],
            province=r["province"],
            placements=r["placements"],
        )
        for r in rows
    ]


def _sees(viewer: Viewer, row: asyncpg.Record) -> bool:
    return sees_agreement(viewer, row["status"], row["initiator"], row["parties"])


def _ref(row: asyncpg.Record) -> AgreementRef:
    return AgreementRef(
        id=row["agreement_id"],
        title=row["title"],
        kind=row["kind"],
        status=row["status"],
        parties=row["parties"],
        effective_from=row["effective_from"],
        effective_to=row["effective_to"],
    )


class _Counted:
    """Placements counted against agreements, per agreement, corridor and quarter."""

    def __init__(self, rows: Iterable[asyncpg.Record]) -> None:
        self._n: dict[tuple[UUID, str, str], dict[str, int]] = defaultdict(dict)
        for r in rows:
            self._n[(r["agreement_id"], r["origin"], r["destination"])][r["quarter"]] = r["n"]

    def actual(self, agreement_id: UUID, origin: str, destination: str, period: str) -> int:
        """Proposed in ``period`` (a year counts its quarters)."""
        quarters = self._n.get((agreement_id, origin, destination), {})
        return sum(n for q, n in quarters.items() if q == period or q.startswith(f"{period}-"))


def _targets(
    row: asyncpg.Record,
    counted: _Counted,
    wanted: Callable[[str, str], bool],
    this_year: str,
) -> list[TargetActual]:
    """An active agreement's corridors that ``wanted`` names: each target of workers transferred
    (the terms' targets of one corridor and period added up) beside its actual; a corridor of
    its parties with no target, with this year's actual."""
    terms = Terms.model_validate(row["terms"])
    targets: dict[tuple[str, str, str], int | None] = {}
    for t in terms.targets:
        key = (t.origin, t.destination, t.period)
        held = targets.get(key)
        figure = t.workers_transferred
        targets[key] = figure if held is None else held + (figure or 0)
    with_targets = {(o, d) for o, d, _ in targets}
    for c in row["corridors"]:
        origin, destination = c.split(">")
        if (origin, destination) not in with_targets:
            targets[(origin, destination, this_year)] = None
    agreement_id: UUID = row["agreement_id"]
    return [
        TargetActual(
            agreement_id=agreement_id,
            title=row["title"],
            origin=origin,
            destination=destination,
            period=period,
            target=target,
            actual=counted.actual(agreement_id, origin, destination, period),
        )
        for (origin, destination, period), target in sorted(targets.items())
        if wanted(origin, destination)
    ]


def _position(cursor: dict[str, Any], *keys: str) -> list[str]:
    """The province codes a cursor of these lists holds (any other is not one of theirs)."""
    values = [cursor.get(k) for k in keys]
    codes = [v for v in values if isinstance(v, str) and v in PROVINCES]
    if len(codes) != len(keys):
        raise InvalidInput.field("cursor", "not a cursor of this list")
    return codes


def _on(origin: str, destination: str) -> Callable[[str, str], bool]:
    return lambda o, d: (o, d) == (origin, destination)


ANSWERS_HELD: Final = 256
"""Most answers :class:`Answers` keeps (the least recently used go first)."""


class Answers:
    """Answers of a view kept by the database snapshot they were read in, per app.

    Two snapshots with the same ``xmin:xmax:xip`` (``pg_current_snapshot()``) see the same
    committed rows: a transaction that wrote and committed in between would have moved ``xmax``
    (one past the newest finished) or left ``xip`` (those in progress). So an answer read in one
    snapshot is the answer in the other, its ``freshness`` included (``view_lag`` is a table like
    the others); the view's first query, its freshness, names the snapshot, so asking costs no
    query of its own. Any write to the database (an event applied, the lag measured) gives new
    snapshots: what is held is never stale, it just stops being asked for. The key also holds
    everything else the answer depends on: the view's arguments, the viewer, the time zone and
    the calendar year (the clock)."""

    def __init__(self, size: int = ANSWERS_HELD) -> None:
        self._size = size
        self._held: OrderedDict[Hashable, Any] = OrderedDict()

    def get(self, key: Hashable) -> Any:
        answer = self._held.get(key)
        if answer is not None:
            self._held.move_to_end(key)
        return answer

    def put(self, key: Hashable, answer: Any) -> None:
        self._held[key] = answer
        self._held.move_to_end(key)
        while len(self._held) > self._size:
            self._held.popitem(last=False)


@dataclass(frozen=True)
class Views:
    """The gateway's views over its projections (``answers``: the app's :class:`Answers`, or
    None to read every answer afresh)."""

    timezone: ZoneInfo
    clock: Clock
    answers: Answers | None = None

    @property
    def tz(self) -> str:
        return self.timezone.key

    def this_year(self) -> str:
        return str(self.clock().astimezone(self.timezone).year)

    @asynccontextmanager
    async def snapshot(self, pool: Pool) -> AsyncIterator[Connection]:
        """One read-only snapshot: every query of a view sees the same applied events."""
        async with (
            pool.acquire() as conn,
            conn.transaction(isolation="repeatable_read", readonly=True),
        ):
            yield conn

    async def freshness(self, conn: Connection, wanted: Sequence[str]) -> list[Freshness]:
        return _freshness(await repository.freshness(conn, sorted(wanted)))

    # -- lists ------------------------------------------------------------------------------

    async def agreements(
        self,
        pool: Pool,
        viewer: Viewer,
        where: repository.AgreementFilter,
        *,
        after: UUID | None,
        limit: int,
    ) -> ViewPage[AgreementItem]:
        scope = agreement_scope(viewer)
        query = repository.agreements_query(scope, where, after=after, limit=limit + 1)
        async with self.snapshot(pool) as conn:
            rows = await repository.fetch(conn, query)
            fresh = await self.freshness(conn, [topics.AGREEMENTS])
        return self._page([AgreementItem.of(r, viewer) for r in rows], limit, fresh)

    async def demands(
        self,
        pool: Pool,
        viewer: Viewer,
        where: repository.DemandFilter,
        *,
        after: UUID | None,
        limit: int,
    ) -> ViewPage[DemandItem]:
        query = repository.demands_query(demand_scope(viewer), where, after=after, limit=limit + 1)
        async with self.snapshot(pool) as conn:
            rows = await repository.fetch(conn, query)
            fresh = await self.freshness(conn, [topics.DEMANDS])
        return self._page([DemandItem.of(r) for r in rows], limit, fresh)

    async def placements(
        self,
        pool: Pool,
        viewer: Viewer,
        where: repository.PlacementFilter,
        *,
        after: UUID | None,
        limit: int,
    ) -> ViewPage[PlacementItem]:
        where = replace(where, province=placement_scope(viewer))
        query = repository.placements_query(where, after=after, limit=limit + 1)
        async with self.snapshot(pool) as conn:
            rows = await repository.fetch(conn, query)
            fresh = await self.freshness(conn, [topics.PLACEMENTS])
        items = [PlacementItem.of(r, self.timezone) for r in rows]
        return self._page(items, limit, fresh)

    @staticmethod
    def _page(items: list[Any], limit: int, fresh: list[Freshness]) -> ViewPage[Any]:
        page = page_of(items, limit, lambda item: {"id": str(item.id)})
        return ViewPage(items=page.items, next_cursor=page.next_cursor, freshness=fresh)

    # -- provinces ----------------------------------------------------------------------------

    async def provinces(
        self, pool: Pool, viewer: Viewer, *, cursor: dict[str, Any] | None, limit: int
    ) -> ViewPage[ProvinceSummary]:
        require(viewer, View.PROVINCES)
        after = _position(cursor, "code")[0] if cursor is not None else ""
        async with self.snapshot(pool) as conn:
            figures = await repository.province_figures(conn)
            fresh = await self.freshness(conn, EVERY_TOPIC)
        summaries = [
            ProvinceSummary(
                code=code,
                name=name,
                **{figure: by_code.get(code, 0) for figure, by_code in figures.items()},
            )
            for code, name in sorted(PROVINCES.items())
            if code > after
        ]
        page = page_of(summaries, limit, lambda p: {"code": p.code})
        return ViewPage(items=page.items, next_cursor=page.next_cursor, freshness=fresh)

    async def province_overview(self, pool: Pool, viewer: Viewer, code: str) -> ProvinceOverview:
        """The overview; from :class:`Answers` if they hold the one read in this snapshot (its
        first query, the freshness, says which it is), else read and left there."""
        require(viewer, View.PROVINCE_OVERVIEW)
        async with self.snapshot(pool) as conn:
            fresh = await repository.freshness(conn, sorted(EVERY_TOPIC))
            key = (
                "province_overview",
                code,
                viewer,
                self.tz,
                self.this_year(),
                fresh[0]["snapshot"],
            )
            held = self.answers.get(key) if self.answers is not None else None
            if isinstance(held, ProvinceOverview):
                return held
            overview = await self._province_overview(conn, viewer, code, _freshness(fresh))
        if self.answers is not None:
            self.answers.put(key, overview)
        return overview

    async def _province_overview(
        self, conn: Connection, viewer: Viewer, code: str, fresh: list[Freshness]
    ) -> ProvinceOverview:
        """The overview read in ``conn``'s snapshot, whose ``fresh`` ness was read already."""
        own = sees_records_of(viewer, code)
        outbound, inbound = PlacementSet(origin=code), PlacementSet(destination=code)
        either = PlacementSet(either=code)
        brands_total = await repository.brands_of(conn, code)
        brands = await repository.brands_with_latest(conn, code, BRANDS_SHOWN)
        agreements = await repository.agreement_counts(
            conn, party=code, drafts_of=code if viewer.is_province(code) else None
        )
        flows = [
            _flows(
                await repository.placements_by_status(conn, which),
                await repository.placements_by_month(conn, which, self.tz),
            )
            for which in (outbound, inbound)
        ]
        workers = await repository.workers_by_availability(conn, origin=code)
        corridors = await repository.top_corridors(conn, either)
        top_brands = await repository.top_brands(conn, either)
        active = [r for r in await repository.active_agreements_of(conn, code) if _sees(viewer, r)]
        counted = _Counted(
            await repository.counted_against(conn, [r["agreement_id"] for r in active], self.tz)
        )
        this_year = self.this_year()
        return ProvinceOverview(
            code=code,
            name=PROVINCES[code],
            own=own,
            brands_total=brands_total,
            brands=[_brand_figures(r) for r in brands],
            agreements=_agreement_counts(agreements),
            placements_outbound=flows[0],
            placements_inbound=flows[1],
            workers=_workers(workers),
            top_corridors=_corridor_counts(corridors),
            top_brands=_brand_counts(top_brands),
            targets=[
                target
                for r in active
                for target in _targets(r, counted, lambda o, d: code in (o, d), this_year)
            ],
            freshness=fresh,
        )

    # -- corridors ----------------------------------------------------------------------------

    async def corridors(
        self,
        pool: Pool,
        viewer: Viewer,
        *,
        origin: str | None,
        destination: str | None,
        cursor: dict[str, Any] | None,
        limit: int,
    ) -> ViewPage[Corridor]:
        require(viewer, View.CORRIDORS)
        after = _position(cursor, "origin", "destination") if cursor is not None else None
        async with self.snapshot(pool) as conn:
            pairs = await repository.corridors(
                conn,
                origin=origin,
                destination=destination,
                after=(after[0], after[1]) if after else None,
                limit=limit + 1,
            )
            shown = pairs[:limit]
            by_status, by_month = await repository.corridor_flows(conn, shown, self.tz)
            covering = await repository.covering(conn, [corridor(o, d) for o, d in shown])
            counted = _Counted(
                await repository.counted_against(
                    conn, [r["agreement_id"] for r in covering], self.tz
                )
            )
            fresh = await self.freshness(conn, [topics.AGREEMENTS, topics.PLACEMENTS])
        statuses: dict[tuple[str, str], dict[str, int]] = defaultdict(dict)
        for r in by_status:
            statuses[(r["origin"], r["destination"])][r["status"]] = r["n"]
        months: dict[tuple[str, str], list[asyncpg.Record]] = defaultdict(list)
        for r in by_month:
            months[(r["origin"], r["destination"])].append(r)
        this_year = self.this_year()
        items = []
        for o, d in shown:
            covers = [r for r in covering if corridor(o, d) in r["corridors"]]
            items.append(
                Corridor(
                    origin=o,
                    destination=d,
                    placements=_flows(statuses[(o, d)], months[(o, d)]),
                    covered=bool(covers),
                    agreements=[
                        CorridorAgreement(
                            agreement=_ref(r),
                            targets=_targets(r, counted, _on(o, d), this_year),
                        )
                        for r in covers
                        if _sees(viewer, r)
                    ],
                )
            )
        next_cursor = None
        if len(pairs) > limit:
            next_cursor = encode_cursor({"origin": shown[-1][0], "destination": shown[-1][1]})
        return ViewPage(items=items, next_cursor=next_cursor, freshness=fresh)

    # -- brand impact and the nation ----------------------------------------------------------

    async def brand_impact(self, pool: Pool, viewer: Viewer, brand_id: UUID) -> BrandImpact:
        require(viewer, View.BRAND_IMPACT)
        which = PlacementSet(brand=brand_id)
        async with self.snapshot(pool) as conn:
            brand = await repository.brand(conn, brand_id)
            if brand is None:
                raise NotFound(f"no brand {brand_id}")
            indicators = await repository.indicators(conn, brand_id)
            counts = await repository.agreement_counts(conn, brand=brand_id)
            linking = await repository.linking(conn, brand_id, BRANDS_SHOWN)
            workers = await repository.workers_by_availability(conn, brand=brand_id)
            flows = _flows(
                await repository.placements_by_status(conn, which),
                await repository.placements_by_month(conn, which, self.tz),
            )
            destinations = await repository.top_corridors(conn, which)
            returns = await repository.returns_by_follow_up(conn, which)
            fresh = await self.freshness(
                conn, [topics.AGREEMENTS, topics.BRANDS, topics.PLACEMENTS, topics.WORKERS]
            )
        latest = indicators[-1] if indicators else None
        return BrandImpact(
            brand=_brand_figures(brand, latest),
            indicators=[Indicators.model_validate(dict(r)) for r in indicators],
            agreements=_agreement_counts(counts),
            linking=[_ref(r) for r in linking if _sees(viewer, r)],
            workers=_workers(workers),
            placements=flows,
            destinations=_corridor_counts(destinations),
            returns=_returns(returns),
            freshness=fresh,
        )

    async def national(self, pool: Pool, viewer: Viewer) -> NationalOverview:
        require(viewer, View.NATIONAL)
        every = PlacementSet()
        async with self.snapshot(pool) as conn:
            brands = await repository.brand_counts(conn)
            totals = await repository.latest_indicator_totals(conn)
            agreements = await repository.agreement_counts(conn)
            demands = await repository.demands_by_status(conn)
            flows = _flows(
                await repository.placements_by_status(conn, every),
                await repository.placements_by_month(conn, every, self.tz),
            )
            workers = await repository.workers_by_availability(conn)
            corridors = await repository.top_corridors(conn, every)
            top_brands = await repository.top_brands(conn, every)
            returns = await repository.returns_by_follow_up(conn, every)
            fresh = await self.freshness(conn, EVERY_TOPIC)
        return NationalOverview(
            brands=_brand_totals(brands, totals),
            agreements=_agreement_counts(agreements),
            demands=DemandTotals(
                total=sum(r["n"] for r in demands),
                by_status={r["status"]: r["n"] for r in sorted(demands, key=lambda r: r["status"])},
                open_headcount=sum(r["headcount"] for r in demands if r["status"] == "open"),
            ),
            placements=flows,
            workers=_workers(workers),
            top_corridors=_corridor_counts(corridors),
            top_brands=_brand_counts(top_brands),
            returns=_returns(returns),
            freshness=fresh,
        )


def _freshness(rows: Iterable[asyncpg.Record]) -> list[Freshness]:
    return [
        Freshness(
            topic=r["topic"],
            consumer_group=GROUP_OF[r["topic"]],
            last_event_at=r["last_event_at"],
            lag=r["lag"],
            lag_measured_at=r["measured_at"],
        )
        for r in rows
    ]


def _brand_figures(row: asyncpg.Record, latest: asyncpg.Record | None = None) -> BrandFigures:
    """A brand, with ``latest`` (or the ``i_``-prefixed columns of its row) as its latest
    period's indicators."""
    if latest is not None:
        figures: Indicators | None = Indicators.model_validate(dict(latest))
    elif row.get("i_period") is not None:
        figures = Indicators.model_validate(
            {k.removeprefix("i_"): v for k, v in row.items() if k.startswith("i_")}
        )
    else:
        figures = None
    return BrandFigures(
        id=row["id"],
        name=row["name"],
        province=row["province"],
        category=row["category"],
        status=row["status"],
        level=row["level"],
        latest=figures,
    )


def _brand_totals(rows: Iterable[asyncpg.Record], totals: asyncpg.Record | None) -> BrandTotals:
    by_status: dict[str, int] = defaultdict(int)
    by_level: dict[str, int] = defaultdict(int)
    for r in rows:
        by_status[r["status"]] += r["n"]
        by_level[r["level"] or "none"] += r["n"]
    sums = dict(totals) if totals is not None else {}
    return BrandTotals(
        total=sum(by_status.values()),
        by_status=dict(sorted(by_status.items())),
        by_level=dict(sorted(by_level.items())),
        reporting=sums.get("brands") or 0,
        practitioners=sums.get("practitioners"),
        jobs_created=sums.get("jobs_created"),
        people_trained=sums.get("people_trained"),
        labour_income_yuan=sums.get("labour_income_yuan"),
        output_value_yuan=sums.get("output_value_yuan"),
    )
