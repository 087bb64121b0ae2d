"""Demo data: the brands of the 2024 national conference (长沙, 21–22 November 2024).

Only figures the conference article gives are reported, as 2024 indicators; a brand without
figures has no report. The article names no category: each brand's category is the project's
reading of the trade in its name, and its other attributes are left empty rather than invented.
A seed only adds what is missing and never changes or fails on what exists: a brand is found by
its name, and a brand that exists gets the conference figures only when it has no report at all for
2024 and is not retired. A province's correction of the figures, or a retirement, survives every
later seed (``make run`` seeds once per data directory, but ``make seed`` may run it again).
"""

import zlib
from dataclasses import dataclass

from laborcoop.common.auth import Principal, Role
from laborcoop.common.db import Pool
from laborcoop.common.unit_of_work import UnitOfWork, unit_of_work
from laborcoop.contracts.brands import IndicatorFigures
from laborcoop.contracts.codes import BrandCategory as C
from laborcoop.contracts.codes import BrandStatus
from laborcoop.registry import repository
from laborcoop.registry.domain import Attributes, Brand
from laborcoop.registry.service import Registry

SOURCE = "2024年全国劳务协作暨劳务品牌发展大会 (长沙, 2024-11-21/22)"
PERIOD = "2024"
_SEED_LOCK = zlib.crc32(b"laborcoop.registry.seed")  # two seeds at once add nothing twice


@dataclass(frozen=True)
class DemoBrand:
    name: str
    province: str
    category: C
    figures: IndicatorFigures | None = None
    note: str | None = None


DEMO_BRANDS = (
    DemoBrand("电力湘军", "430000", C.SKILLED_TRADES),
    DemoBrand("张家界导游", "430000", C.CULTURE_TOURISM),
    DemoBrand("颐而康保健按摩师", "430000", C.PRODUCTION_LIFE_SERVICES),
    DemoBrand("沙坪湘绣工", "430000", C.INTANGIBLE_HERITAGE),
    DemoBrand("宜章光电制造工", "430000", C.EMERGING_INDUSTRIES),
    DemoBrand(
        "安化黑茶茶艺师",
        "430000",
        C.SKILLED_TRADES,
        IndicatorFigures(practitioners=15_000, labour_income_yuan=1_600_000_000),
        "about 1.6 billion yuan of income",
    ),
    DemoBrand("兰州拉面师", "620000", C.SKILLED_TRADES),
    DemoBrand("莫干山民宿管家", "330000", C.CULTURE_TOURISM),
    DemoBrand(
        "蕲春艾灸师",
        "420000",
        C.PRODUCTION_LIFE_SERVICES,
        IndicatorFigures(output_value_yuan=10_000_000_000),
        "industry output of more than 10 billion yuan a year (a lower bound)",
    ),
    DemoBrand(
        "潜江龙虾工",
        "420000",
        C.AGRICULTURE,
        IndicatorFigures(practitioners=200_000, output_value_yuan=60_000_000_000),
        "practitioners: one in five of about one million residents",
    ),
    DemoBrand(
        "监利玻铝商",
        "420000",
        C.SKILLED_TRADES,
        IndicatorFigures(output_value_yuan=100_000_000_000),
    ),
    DemoBrand(
        "喀喇沁中药材农机工",
        "150000",
        C.AGRICULTURE,
        IndicatorFigures(practitioners=5_000, labour_income_yuan=260_000_000),
        "more than 5,000 employed (a lower bound)",
    ),
    DemoBrand(
        "河北福嫂",
        "130000",
        C.PRODUCTION_LIFE_SERVICES,
        IndicatorFigures(people_trained=40_000, labour_income_yuan=975_000_000),
        "more than 40,000 trained, person-times (a lower bound)",
    ),
    DemoBrand(
        "南康木工", "360000", C.SKILLED_TRADES, IndicatorFigures(output_value_yuan=200_000_000_000)
    ),
)


def _principal(province: str) -> Principal:
    return Principal(client_id="seed", province=province, roles=frozenset({Role.PROVINCE}))


async def seed(pool: Pool, registry: Registry) -> tuple[int, int]:
    """Load the demo brands; returns (brands created, indicator reports created)."""
    brands = reports = 0
    for demo in DEMO_BRANDS:
        async with unit_of_work(pool, registry.settings) as uow:
            await uow.fetchval("SELECT pg_advisory_xact_lock($1)", _SEED_LOCK, lock=True)
            brand = await repository.find_by_name(uow.conn, demo.province, demo.name)
            if brand is None:
                brand = await registry.register(
                    uow,
                    _principal(demo.province),
                    demo.province,
                    Attributes(name=demo.name, category=demo.category),
                )
                brands += 1
            reports += await _report(uow, registry, brand, demo)
    return brands, reports


async def _report(uow: UnitOfWork, registry: Registry, brand: Brand, demo: DemoBrand) -> int:
    """The demo figures, unless the brand is retired or already has a report for the period
    (a province's own report, or a correction of ours, is never replaced)."""
    if demo.figures is None or brand.status == BrandStatus.RETIRED:
        return 0
    if await repository.current_report(uow, brand.id, PERIOD) is not None:
        return 0
    source = f"{SOURCE}; {demo.note}" if demo.note else SOURCE
    _, created = await registry.report_indicators(
        uow, _principal(demo.province), brand.id, PERIOD, demo.figures, source
    )
    return int(created)
