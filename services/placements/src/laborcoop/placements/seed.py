"""Demo data of the labour exchange: fictional workers of the sending provinces of the 2024
conference, demands of the receiving provinces, and placements along those corridors in every
state (`laborcoop-placements seed`, run once per data directory by `make run`).

**The people are fictional.** Names come from Faker (`zh_CN`); ID numbers are made with
:func:`~laborcoop.contracts.identifiers.make_resident_id` from real county codes of the sending
provinces, a birth date in 1965–2004 and a sequence number (valid, but nobody's: the sequence
and birth date are drawn, not looked up); mobile numbers have a real carrier prefix and eight
drawn digits. Employers are ``<city>某<trade>有限公司（演示）`` with a valid, drawn unified social
credit code (:func:`~laborcoop.contracts.identifiers.make_credit_code`).

**Which provinces.** Workers come from the provinces of the conference brands that send workers
(湖南, 湖北, 河北, 江西, 甘肃; docs/domain.md) and from the sending sides of its agreements (云南 in
沪滇, 四川 in 成渝); demands come from the receiving sides (上海, 江苏 and 浙江 of the ten-province
compact, 重庆, 山东 of the Yellow River alliance) and from 广东 and 北京, which no conference
agreement names: placements towards those two are proposed outside any agreement. A placement
is proposed under the agreement covering its corridor when this service's copy of the
agreements has one, otherwise outside any agreement, so the seed never depends on the agreements
service having run first. A worker of a brand's trade belongs to the brand when this service's
copy of the register knows it (again: never required). Each trade's occupation code is the
project's reading of 职业分类大典 (2022); trades the project could not place with confidence
(沙坪湘绣工, 宜章光电制造工, 监利玻铝商, 南康木工, 喀喇沁中药材农机工) have no demo workers.

**Deterministic.** Worker ``i`` is drawn from its own seeded generators (``random`` seeded with
``"…/worker/i"``, Faker seeded with ``i``), so the first N workers are the same whatever the count
asked for; a demand is known by its credit code (drawn from its key), a worker by the blind index
of its ID number (``workers.id_index``). A seed **adds only what is missing**: a worker found is
left as it is (its consents, its availability), a demand found is left as it is, and a worker
that has any placement gets no demo placement. A demo placement whose worker or demand changed
since (no longer available, the demand closed or full) is skipped, never an error.

**Through the use cases.** Everything is written by the workers', demands' and placements' use
cases in units of work, so each change records its event (published by the service's relay),
and personal data is sealed as any registration seals it. The use cases run on a clock of the
seed's own that walks through the story of each placement, from the registration about 400 days
before today to the last step a few days ago: proposals, acceptances, onboardings, 3- and 6-month
milestones, completions, terminations and returns home (each follow-up), and declines. Demands
that stay open take proposals until 60 days after the seed.
"""

import argparse
import hashlib
import os
import random
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Final
from uuid import UUID
from zoneinfo import ZoneInfo

from faker import Faker

from laborcoop.common.clock import ManualClock, utc_now
from laborcoop.common.db import Pool
from laborcoop.common.principal import Principal, Role
from laborcoop.common.problems import Conflict, InvalidInput
from laborcoop.common.settings import ServiceSettings
from laborcoop.common.spec import ServiceContext
from laborcoop.common.unit_of_work import UnitOfWork, unit_of_work
from laborcoop.contracts.codes import (
    CertificateKind,
    ConsentScope,
    DemandKind,
    Education,
    ReturnPath,
)
from laborcoop.contracts.identifiers import (
    CREDIT_CODE_ALPHABET,
    make_credit_code,
    make_resident_id,
)
from laborcoop.placements.demands.domain import Posting
from laborcoop.placements.demands.service import Demands
from laborcoop.placements.exchange import LabourExchange
from laborcoop.placements.placements.domain import add_months
from laborcoop.placements.placements.service import Placements
from laborcoop.placements.protection import Keyring
from laborcoop.placements.settings import PlacementsSettings
from laborcoop.placements.workers.domain import Certificate, Profile
from laborcoop.placements.workers.service import Person, Workers

DEFAULT_WORKERS: Final = 3_000
WORKERS_VARIABLE: Final = "LABORCOOP_SEED_WORKERS"
"""Sets the default of ``seed --workers`` (so ``LABORCOOP_SEED_WORKERS=500 make run`` works)."""
WORKER_BATCH: Final = 250
"""Workers registered per unit of work (one statement when it commits)."""
CLIENT_ID: Final = "seed"
_SEED_LOCK: Final = int.from_bytes(hashlib.sha256(b"laborcoop.placements.seed").digest()[:4])

# --- What the demo is made of -------------------------------------------------------------


@dataclass(frozen=True)
class Occupation:
    code: str
    title: str
    industry: str
    """What an employer of this trade does, in its name (``杭州某餐饮管理有限公司``)."""
    wage: tuple[int, int]
    """A typical monthly wage range in yuan."""
    female_share: float = 0.45


ELECTRICIAN = Occupation("6-31-01-03", "电工", "电力工程", (7000, 11000), 0.05)
GUIDE = Occupation("4-07-04-01", "导游", "旅行社", (5000, 9000), 0.6)
MASSAGE = Occupation("4-10-04-02", "保健按摩师", "健康管理", (6000, 10000), 0.5)
TEA = Occupation("4-03-02-07", "茶艺师", "茶业", (5000, 8000), 0.7)
MOXIBUSTION = Occupation("4-10-04-01", "保健调理师", "中医养生", (6000, 10000), 0.6)
COOK = Occupation("4-03-02-01", "中式烹调师", "餐饮管理", (6500, 11000), 0.2)
NOODLE = Occupation("4-03-02-02", "中式面点师", "餐饮管理", (6000, 10000), 0.2)
DOMESTIC = Occupation("4-10-01-06", "家政服务员", "家政服务", (6000, 9500), 0.95)
ELDERCARE = Occupation("4-10-01-05", "养老护理员", "养老服务", (5500, 8500), 0.85)
WELDER = Occupation("6-18-02-04", "焊工", "机械制造", (7500, 12000), 0.05)
SECURITY = Occupation("4-07-05-01", "保安员", "保安服务", (4500, 6500), 0.05)


@dataclass(frozen=True)
class Trade:
    """What a sending province's demo workers do: an occupation, with the conference brand of
    that trade and the counties the brand's workers come from, where there is one."""

    occupation: Occupation
    brand: str | None = None
    counties: tuple[str, ...] = ()


@dataclass(frozen=True)
class Sender:
    province: str
    weight: int
    counties: tuple[str, ...]
    """Real GB/T 2260 county codes of the province (names in :data:`COUNTY_NAMES`)."""
    trades: tuple[Trade, ...]
    destinations: tuple[str, ...]
    """Where its demo placements go; the first is the corridor of its conference agreement or
    the main one of its brands."""


COUNTY_NAMES: Final = {
    "430524": "隆回县", "430923": "安化县", "430802": "永定区", "430821": "慈利县",
    "431022": "宜章县", "430581": "武冈市", "433130": "龙山县",
    "421126": "蕲春县", "429005": "潜江市", "421127": "黄梅县", "421125": "浠水县",
    "422802": "利川市",
    "530381": "宣威市", "530621": "鲁甸县", "530602": "昭阳区", "532622": "砚山县",
    "532923": "祥云县",
    "511623": "邻水县", "511921": "通江县", "511722": "宣汉县", "513433": "冕宁县",
    "130731": "涿鹿县", "130929": "献县", "131123": "武强县", "130433": "馆陶县",
    "130636": "顺平县",
    "360703": "南康区", "360731": "于都县", "360733": "会昌县", "360428": "都昌县",
    "621121": "通渭县", "621122": "陇西县", "620421": "靖远县", "622921": "临夏县",
    "620102": "城关区",
}  # fmt: skip

HUNAN, HUBEI, YUNNAN, SICHUAN = "430000", "420000", "530000", "510000"
HEBEI, JIANGXI, GANSU = "130000", "360000", "620000"
SHANGHAI, JIANGSU, ZHEJIANG, GUANGDONG = "310000", "320000", "330000", "440000"
BEIJING, CHONGQING, SHANDONG = "110000", "500000", "370000"

SENDERS: Final = (
    Sender(
        HUNAN,
        5,
        ("430524", "430923", "430802", "430821", "431022", "430581", "433130"),
        (
            Trade(ELECTRICIAN, "电力湘军"),
            Trade(GUIDE, "张家界导游", ("430802", "430821")),
            Trade(MASSAGE, "颐而康保健按摩师"),
            Trade(TEA, "安化黑茶茶艺师", ("430923",)),
            Trade(COOK),
        ),
        (JIANGSU, ZHEJIANG, GUANGDONG),
    ),
    Sender(
        HUBEI,
        3,
        ("421126", "429005", "421127", "421125", "422802"),
        (
            Trade(MOXIBUSTION, "蕲春艾灸师", ("421126",)),
            Trade(COOK, "潜江龙虾工", ("429005",)),
            Trade(DOMESTIC),
            Trade(WELDER),
        ),
        (GUANGDONG, SHANGHAI, ZHEJIANG),
    ),
    Sender(
        YUNNAN,
        3,
        ("530381", "530621", "530602", "532622", "532923"),
        (Trade(DOMESTIC), Trade(COOK), Trade(SECURITY), Trade(WELDER)),
        (SHANGHAI, GUANGDONG),
    ),
    Sender(
        SICHUAN,
        3,
        ("511623", "511921", "511722", "513433"),
        (Trade(COOK), Trade(ELECTRICIAN), Trade(WELDER)),
        (CHONGQING, GUANGDONG, ZHEJIANG),
    ),
    Sender(
        HEBEI,
        2,
        ("130731", "130929", "131123", "130433", "130636"),
        (Trade(DOMESTIC, "河北福嫂"), Trade(ELDERCARE, "河北福嫂")),
        (BEIJING, SHANGHAI),
    ),
    Sender(
        JIANGXI,
        2,
        ("360703", "360731", "360733", "360428"),
        (Trade(WELDER), Trade(ELECTRICIAN), Trade(DOMESTIC)),
        (GUANGDONG, ZHEJIANG),
    ),
    Sender(
        GANSU,
        2,
        ("621121", "621122", "620421", "622921", "620102"),
        (Trade(NOODLE, "兰州拉面师"), Trade(COOK)),
        (SHANDONG, SHANGHAI, GUANGDONG),
    ),
)

CITIES: Final = {
    SHANGHAI: (("310115", "上海浦东"), ("310112", "上海闵行"), ("310104", "上海徐汇")),
    JIANGSU: (("320500", "苏州"), ("320100", "南京"), ("320200", "无锡")),
    ZHEJIANG: (("330100", "杭州"), ("330200", "宁波"), ("330500", "湖州")),
    GUANGDONG: (("440300", "深圳"), ("440100", "广州"), ("441900", "东莞")),
    BEIJING: (("110105", "北京朝阳"), ("110108", "北京海淀"), ("110106", "北京丰台")),
    CHONGQING: (("500112", "重庆渝北"), ("500103", "重庆渝中")),
    SHANDONG: (("370200", "青岛"), ("370100", "济南")),
}
"""Work locations of the receiving provinces' demands (real division codes)."""

MOBILE_PREFIXES: Final = (
    "130", "131", "132", "133", "135", "136", "137", "138", "139", "150", "151", "152",
    "153", "155", "156", "157", "158", "159", "177", "180", "181", "182", "183", "185",
    "186", "187", "188", "189", "199",
)  # fmt: skip
EDUCATION_WEIGHTS: Final = {
    Education.PRIMARY: 8,
    Education.JUNIOR_SECONDARY: 40,
    Education.SENIOR_SECONDARY: 20,
    Education.VOCATIONAL: 20,
    Education.COLLEGE: 10,
    Education.BACHELOR: 2,
}
EARLIEST_BIRTH: Final = date(1965, 1, 1)
LATEST_BIRTH: Final = date(2004, 12, 31)


class Story(StrEnum):
    """Where a demo placement ends up."""

    PROPOSED = "proposed"
    ACCEPTED = "accepted"
    ONBOARDED = "onboarded"
    RETAINED_3M = "retained_3m"
    RETAINED_6M = "retained_6m"
    COMPLETED = "completed"
    DECLINED = "declined"
    TERMINATED = "terminated"
    RETURNED_LOCAL_JOB = "returned_local_job"
    RETURNED_BUSINESS_STARTUP = "returned_business_startup"
    RETURNED_TRAINING = "returned_training"
    RETURNED_NONE_YET = "returned_none_yet"

    @property
    def accepts(self) -> bool:
        """The origin accepts it (it counts against the demand's headcount)."""
        return self not in (Story.PROPOSED, Story.DECLINED)


S = Story
STORY_EVERY: Final = 5
"""Every fifth demo worker (0, 5, 10, …) has a demo placement."""
STORY_CYCLE: Final = (
    S.PROPOSED, S.ACCEPTED, S.ONBOARDED, S.RETAINED_3M, S.RETAINED_6M, S.COMPLETED,
    S.DECLINED, S.TERMINATED, S.RETURNED_LOCAL_JOB, S.COMPLETED, S.RETURNED_BUSINESS_STARTUP,
    S.RETAINED_3M, S.RETURNED_TRAINING, S.ONBOARDED, S.RETURNED_NONE_YET, S.RETAINED_6M,
)  # fmt: skip
"""The placements' fates in turn, so that any 16 demo placements show them all."""
PROPOSED_DAYS_AGO: Final = {
    S.PROPOSED: (2, 20),
    S.ACCEPTED: (8, 25),
    S.ONBOARDED: (30, 75),
    S.RETAINED_3M: (115, 170),
    S.RETAINED_6M: (210, 300),
    S.COMPLETED: (250, 330),
    S.DECLINED: (10, 300),
    S.TERMINATED: (80, 300),
    S.RETURNED_LOCAL_JOB: (300, 380),
    S.RETURNED_BUSINESS_STARTUP: (300, 380),
    S.RETURNED_TRAINING: (100, 300),
    S.RETURNED_NONE_YET: (100, 300),
}
"""How long before the seed each fate's proposal was made, so that every later step of it
(onboarding, milestones, completion, return) is in the past."""
REGISTERED_DAYS_AGO: Final = 400
RETURNS: Final = {
    S.RETURNED_LOCAL_JOB: (ReturnPath.LOCAL_JOB, "在家乡县城找到工作"),
    S.RETURNED_BUSINESS_STARTUP: (ReturnPath.BUSINESS_STARTUP, "返乡创业"),
    S.RETURNED_TRAINING: (ReturnPath.TRAINING, "参加职业技能培训"),
    S.RETURNED_NONE_YET: (ReturnPath.NONE_YET, None),
}
TERMINATION_REASONS: Final = ("劳动者个人原因离职", "用工单位生产计划调整", "家庭原因返乡")
DECLINE_REASONS: Final = ("劳动者另有就业意向", "岗位与技能不符")
HEADCOUNTS: Final = (3, 8, 5, 12)
"""Headcounts of a corridor's successive demands: each is filled by that many acceptances, the
last one of each receiving province and occupation stays open."""
OPEN_DAYS: Final = 60
"""An open demo demand takes proposals until this many days after the seed."""


# --- The plan: pure and deterministic ---------------------------------------------------------


@dataclass(frozen=True)
class DemoConsent:
    province: str
    scope: ConsentScope
    withdrawn: bool = False


@dataclass(frozen=True)
class DemoPlacement:
    fate: Story
    destination: str
    proposed_days_ago: int
    steps: tuple[int, ...]
    """Days between the steps after the proposal (each fate reads what it needs)."""
    reason: str


@dataclass(frozen=True)
class DemoWorker:
    index: int
    origin: str
    person: Person
    occupation: Occupation
    brand: str | None
    education: Education
    certificates: tuple[Certificate, ...]
    wage: tuple[int, int]
    consent: DemoConsent | None
    unavailable: bool
    placement: DemoPlacement | None

    def profile(self, brand_id: UUID | None) -> Profile:
        return Profile(
            education=self.education,
            occupations=(self.occupation.code,),
            certificates=self.certificates,
            brand_id=brand_id,
            wage_min=self.wage[0],
            wage_max=self.wage[1],
        )


def _random(*key: object) -> random.Random:
    """A generator of its own for ``key`` (a str seed is hashed with SHA-512: the same draws in
    every process and Python version)."""
    seed = "laborcoop.placements.seed/" + "/".join(str(k) for k in key)
    return random.Random(seed)  # noqa: S311 - synthetic demo data, reproducible on purpose


def _birth(rng: random.Random) -> date:
    return EARLIEST_BIRTH + timedelta(days=rng.randrange((LATEST_BIRTH - EARLIEST_BIRTH).days + 1))


def _resident_id(rng: random.Random, county: str, male: bool, taken: set[str]) -> str:
    """A valid ID number of ``county`` no earlier demo worker has (odd sequence: a man)."""
    birth = _birth(rng)
    sequence = rng.randrange(500) * 2 + (1 if male else 0)
    resident_id = make_resident_id(county, birth, sequence)
    while resident_id in taken:
        sequence = (sequence + 2) % 1000
        resident_id = make_resident_id(county, birth, sequence)
    taken.add(resident_id)
    return resident_id


def _wage(rng: random.Random, occupation: Occupation) -> tuple[int, int]:
    low, high = occupation.wage
    wage_min = low + rng.randrange(0, 5) * 250
    return wage_min, max(wage_min + 1000, high - rng.randrange(0, 5) * 250)


def _certificates(rng: random.Random, occupation: Occupation) -> tuple[Certificate, ...]:
    if rng.random() >= 0.4:
        return ()
    certificate = Certificate(
        kind=CertificateKind.VOCATIONAL_SKILL,
        name=f"{occupation.title}职业技能等级证书",
        level=rng.choice((3, 4, 4, 5, 5)),
        issuer="职业技能等级认定评价机构",
        year=rng.randrange(2015, 2025),
    )
    return (certificate,)


def _placement(rng: random.Random, number: int, sender: Sender) -> DemoPlacement:
    fate = STORY_CYCLE[number % len(STORY_CYCLE)]
    low, high = PROPOSED_DAYS_AGO[fate]
    steps = (
        rng.randint(1, 4),  # declined, or accepted, that many days after the proposal
        rng.randint(5, 10),  # onboarded after the acceptance
        rng.randint(0, 3),  # the 3-month milestone, days after it was due
        rng.randint(0, 3),  # the 6-month milestone
        rng.randint(20, 40),  # completed after the 6-month milestone
        rng.randint(20, 60),  # terminated after onboarding
        rng.randint(3, 15),  # returned home after the end
    )
    reasons = DECLINE_REASONS if fate == S.DECLINED else TERMINATION_REASONS
    return DemoPlacement(
        fate=fate,
        destination=rng.choice(sender.destinations[:2] * 2 + sender.destinations),
        proposed_days_ago=rng.randint(low, high),
        steps=steps,
        reason=rng.choice(reasons),
    )


def _consent(rng: random.Random, sender: Sender) -> DemoConsent | None:
    draw = rng.random()
    if draw < 0.10:
        return DemoConsent(rng.choice(sender.destinations), ConsentScope.CONTACT)
    if draw < 0.12:
        return DemoConsent(rng.choice(sender.destinations), ConsentScope.IDENTITY, withdrawn=True)
    return None


def demo_worker(index: int, faker: Faker, taken: set[str]) -> DemoWorker:
    """Demo worker ``index``; ``taken`` holds the ID numbers of workers ``0 … index-1``."""
    rng = _random("worker", index)
    sender = rng.choices(SENDERS, weights=[s.weight for s in SENDERS])[0]
    trade = rng.choice(sender.trades)
    county = rng.choice(trade.counties or sender.counties)
    male = rng.random() >= trade.occupation.female_share
    faker.seed_instance(index)
    name = faker.name_male() if male else faker.name_female()
    person = Person(
        name=name,
        resident_id=_resident_id(rng, county, male, taken),
        phone=rng.choice(MOBILE_PREFIXES) + f"{rng.randrange(10**8):08d}",
        poverty_alleviation=rng.random() < 0.15,
    )
    educations = list(EDUCATION_WEIGHTS)
    education = rng.choices(educations, weights=[EDUCATION_WEIGHTS[e] for e in educations])[0]
    has_placement = index % STORY_EVERY == 0
    placement = _placement(rng, index // STORY_EVERY, sender) if has_placement else None
    consent = None if has_placement else _consent(rng, sender)
    return DemoWorker(
        index=index,
        origin=sender.province,
        person=person,
        occupation=trade.occupation,
        brand=trade.brand if trade.brand is not None and rng.random() < 0.6 else None,
        education=education,
        certificates=_certificates(rng, trade.occupation),
        wage=_wage(rng, trade.occupation),
        consent=consent,
        unavailable=not has_placement and consent is None and rng.random() < 0.03,
        placement=placement,
    )


def demo_workers(count: int) -> list[DemoWorker]:
    """The first ``count`` demo workers (the same ones whatever ``count``)."""
    faker = Faker("zh_CN")
    taken: set[str] = set()
    return [demo_worker(index, faker, taken) for index in range(count)]


@dataclass(frozen=True)
class DemoDemand:
    key: str
    """What the demand is in the demo (``"310000/4-10-01-06/0"``), from which its credit code
    is drawn."""
    province: str
    occupation: Occupation
    city: tuple[str, str]
    headcount: int
    kind: DemandKind = DemandKind.PLACEMENT
    ending: str = "open"
    """``open``, or ``closed`` or ``expired`` by the seed (``filled`` comes by acceptances)."""

    @property
    def credit_code(self) -> str:
        digest = hashlib.sha256(f"laborcoop.placements.seed/{self.key}".encode()).digest()
        organisation = "".join(CREDIT_CODE_ALPHABET[b % len(CREDIT_CODE_ALPHABET)] for b in digest)
        return make_credit_code(f"91{self.city[0]}MA{organisation[:7]}")

    @property
    def employer_name(self) -> str:
        return f"{self.city[1]}某{self.occupation.industry}有限公司（演示）"


_SPECIALS: Final = (("closed", DOMESTIC, 4), ("expired", COOK, 6), ("shared", WELDER, 10))


def _specials() -> list[DemoDemand]:
    """Per receiving province: a demand closed by it, one expired, and an open secondment."""
    demands = []
    for province, cities in CITIES.items():
        for number, (ending, occupation, headcount) in enumerate(_SPECIALS):
            kind = DemandKind.SHARED_EMPLOYEE if ending == "shared" else DemandKind.PLACEMENT
            demands.append(
                DemoDemand(
                    f"{province}/{ending}",
                    province,
                    occupation,
                    cities[number % len(cities)],
                    headcount,
                    kind,
                    "open" if ending == "shared" else ending,
                )
            )
    return demands


def _generation(accepted_before: int) -> int:
    """The demand (0, 1, …) of a corridor's occupation the next acceptance goes to."""
    generation, capacity = 0, HEADCOUNTS[0]
    while accepted_before >= capacity:
        generation += 1
        capacity += HEADCOUNTS[generation % len(HEADCOUNTS)]
    return generation


@dataclass
class Plan:
    demands: dict[str, DemoDemand] = field(default_factory=dict)
    demand_of: dict[int, str] = field(default_factory=dict)
    """The demand key of each demo worker with a placement."""


def plan(workers: Sequence[DemoWorker]) -> Plan:
    """The demands and which one each demo placement goes to: a receiving province's demands of
    one occupation take the accepted placements in turn (:data:`HEADCOUNTS`), and the proposals
    that are never accepted go to the last one, which stays open."""
    result = Plan({d.key: d for d in _specials()})
    accepted: Counter[tuple[str, str]] = Counter()
    pending: dict[tuple[str, str], list[int]] = defaultdict(list)
    for worker in workers:
        if worker.placement is None:
            continue
        group = (worker.placement.destination, worker.occupation.code)
        if worker.placement.fate.accepts:
            result.demand_of[worker.index] = _group_demand(
                result, worker, _generation(accepted[group])
            )
            accepted[group] += 1
        else:
            pending[group].append(worker.index)
    by_index = {w.index: w for w in workers}
    for group, indexes in pending.items():
        last = _generation(accepted[group])
        for index in indexes:
            result.demand_of[index] = _group_demand(result, by_index[index], last)
    return result


def _group_demand(result: Plan, worker: DemoWorker, generation: int) -> str:
    assert worker.placement is not None
    province = worker.placement.destination
    key = f"{province}/{worker.occupation.code}/{generation}"
    if key not in result.demands:
        cities = CITIES[province]
        result.demands[key] = DemoDemand(
            key,
            province,
            worker.occupation,
            cities[generation % len(cities)],
            HEADCOUNTS[generation % len(HEADCOUNTS)],
        )
    return key


# --- Loading it through the use cases ----------------------------------------------------------


@dataclass(frozen=True)
class Added:
    workers: int = 0
    demands: int = 0
    placements: int = 0
    skipped: int = 0
    """Demo placements not added because their worker or demand changed since an earlier seed."""

    def __str__(self) -> str:
        text = (
            f"{self.workers} worker(s), {self.demands} demand(s) and {self.placements} placement(s)"
        )
        return text + (f" ({self.skipped} placement(s) skipped)" if self.skipped else "")


def province(code: str) -> Principal:
    return Principal(client_id=CLIENT_ID, province=code, roles=frozenset({Role.PROVINCE}))


def _minutes(index: int) -> float:
    """When in its day (minutes after 10:00) demo worker ``index``'s steps happen: a second
    apart, within eight hours, so a step never moves to the next day."""
    return (index % 28_800) / 60


@dataclass(frozen=True)
class _Timeline:
    """The seed's clock, moved to each step's day (10:00 there, plus minutes)."""

    clock: ManualClock
    timezone: ZoneInfo
    today: date

    def day(self, days_ago: int) -> date:
        return self.today - timedelta(days=days_ago)

    def at(self, day: date, minutes: float = 0) -> date:
        local = datetime.combine(day, time(10), tzinfo=self.timezone) + timedelta(minutes=minutes)
        self.clock.now = local.astimezone(UTC)
        return day

    @property
    def registration(self) -> date:
        return self.day(REGISTERED_DAYS_AGO)


@dataclass(frozen=True)
class _Seeding:
    pool: Pool
    settings: ServiceSettings
    workers: Workers
    demands: Demands
    placements: Placements
    time: _Timeline

    @property
    def ring(self) -> Keyring:
        return self.workers.ring

    async def existing_workers(self, demo: Sequence[DemoWorker]) -> dict[int, UUID]:
        """The demo workers already registered, found by the blind index of their ID number."""
        indexes = {self.ring.blind_index(w.person.resident_id): w.index for w in demo}
        rows = await self.pool.fetch(
            "SELECT id, id_index FROM workers WHERE id_index = ANY($1::bytea[])", list(indexes)
        )
        return {indexes[bytes(r["id_index"])]: r["id"] for r in rows}

    async def brands(self) -> dict[tuple[str, str], UUID]:
        """The brands this service's copy of the register knows, not retired."""
        rows = await self.pool.fetch(
            "SELECT brand_id, name, province FROM brand_copy WHERE status <> 'retired'"
        )
        return {(r["province"], r["name"]): r["brand_id"] for r in rows}

    async def register(
        self, demo: Sequence[DemoWorker], brands: dict[tuple[str, str], UUID]
    ) -> dict[int, UUID]:
        added: dict[int, UUID] = {}
        for start in range(0, len(demo), WORKER_BATCH):
            async with unit_of_work(self.pool, self.settings) as uow:
                for worker in demo[start : start + WORKER_BATCH]:
                    added[worker.index] = await self._register(uow, worker, brands)
        return added

    async def _register(
        self, uow: UnitOfWork, demo: DemoWorker, brands: dict[tuple[str, str], UUID]
    ) -> UUID:
        origin = province(demo.origin)
        brand_id = brands.get((demo.origin, demo.brand)) if demo.brand else None
        self.time.at(self.time.registration, _minutes(demo.index))
        worker = await self.workers.register(uow, origin, demo.person, demo.profile(brand_id))
        consent = demo.consent
        if demo.placement is not None:
            consent = DemoConsent(demo.placement.destination, ConsentScope.IDENTITY)
        if consent is not None:
            await self.workers.grant_consent(
                uow, origin, worker.id, None, consent.province, consent.scope, None
            )
            if consent.withdrawn:
                self.time.at(self.time.day(REGISTERED_DAYS_AGO // 2), _minutes(demo.index))
                await self.workers.withdraw_consent(
                    uow, origin, worker.id, None, consent.province, consent.scope
                )
        if demo.unavailable:
            self.time.at(self.time.day(REGISTERED_DAYS_AGO // 3), _minutes(demo.index))
            await self.workers.set_availability(uow, origin, worker.id, None, False)
        return worker.id

    async def existing_demands(self, demands: Sequence[DemoDemand]) -> dict[str, UUID]:
        codes = {d.credit_code: d.key for d in demands}
        rows = await self.pool.fetch(
            "SELECT id, employer_credit_code FROM demands WHERE employer_credit_code = ANY($1)",
            list(codes),
        )
        return {codes[r["employer_credit_code"]]: r["id"] for r in rows}

    async def post(
        self, demands: Sequence[DemoDemand], brands: dict[tuple[str, str], UUID]
    ) -> dict[str, UUID]:
        preferred: dict[str, tuple[UUID, ...]] = defaultdict(tuple)
        for sender in SENDERS:
            for trade in sender.trades:
                brand_id = brands.get((sender.province, trade.brand or ""))
                if brand_id is not None and brand_id not in preferred[trade.occupation.code]:
                    preferred[trade.occupation.code] += (brand_id,)
        posted: dict[str, UUID] = {}
        async with unit_of_work(self.pool, self.settings) as uow:
            for number, demo in enumerate(demands):
                posted[demo.key] = await self._post(uow, number, demo, preferred)
        return posted

    async def _post(
        self,
        uow: UnitOfWork,
        number: int,
        demo: DemoDemand,
        preferred: dict[str, tuple[UUID, ...]],
    ) -> UUID:
        posted_on = self.time.at(self.time.day(REGISTERED_DAYS_AGO - 2), number)
        start = posted_on + timedelta(days=12)
        low, high = demo.occupation.wage
        posting = Posting(
            kind=demo.kind,
            employer_name=demo.employer_name,
            employer_credit_code=demo.credit_code,
            occupation=demo.occupation.code,
            headcount=demo.headcount,
            wage_min=low + 500,
            wage_max=high,
            city_code=demo.city[0],
            start_date=start,
            end_date=start + timedelta(days=540)
            if demo.kind == DemandKind.SHARED_EMPLOYEE
            else None,
            preferred_brands=preferred[demo.occupation.code],
        )
        open_until = {"expired": start + timedelta(days=30), "closed": None}.get(
            demo.ending, self.time.today + timedelta(days=OPEN_DAYS)
        )
        poster = province(demo.province)
        demand = await self.demands.post(uow, poster, posting, open_until)
        if demo.ending == "closed":
            self.time.at(start + timedelta(days=20), number)
            await self.demands.close(uow, poster, demand.id, None, "用工单位招聘计划调整")
        elif demo.ending == "expired" and open_until is not None:
            self.time.at(open_until + timedelta(days=1), number)
            await self.demands.expire(uow, demand.id)
        return demand.id

    async def with_placements(self, worker_ids: Sequence[UUID]) -> set[UUID]:
        rows = await self.pool.fetch(
            "SELECT DISTINCT worker_id FROM placements WHERE worker_id = ANY($1::uuid[])",
            list(worker_ids),
        )
        return {r["worker_id"] for r in rows}

    async def place(self, demo: DemoWorker, worker_id: UUID, demand_id: UUID) -> bool:
        """Demo worker ``demo``'s placement, told step by step; False when it was skipped
        (the worker or the demand changed since the seed that added them)."""
        try:
            placement_id = await self._propose(demo, worker_id, demand_id)
            if demo.placement is not None and demo.placement.fate.accepts:
                async with unit_of_work(self.pool, self.settings) as uow:
                    await self._follow(uow, demo, placement_id)
        except Conflict:
            return False
        return True

    async def _propose(self, demo: DemoWorker, worker_id: UUID, demand_id: UUID) -> UUID:
        story = demo.placement
        assert story is not None
        destination = province(story.destination)
        async with unit_of_work(self.pool, self.settings) as uow:
            proposed_on = self.time.day(story.proposed_days_ago)
            self.time.at(proposed_on, _minutes(demo.index))
            try:  # under the agreement covering the corridor, if this service knows one
                placement = await self.placements.propose(
                    uow, destination, worker_id, demand_id, None, False
                )
            except InvalidInput:
                placement = await self.placements.propose(
                    uow, destination, worker_id, demand_id, None, True
                )
            if story.fate == S.DECLINED:
                self.time.at(proposed_on + timedelta(days=story.steps[0]), _minutes(demo.index))
                await self.placements.decline(
                    uow, province(demo.origin), placement.id, None, story.reason
                )
        return placement.id

    async def _follow(self, uow: UnitOfWork, demo: DemoWorker, placement_id: UUID) -> None:
        """Accepted, and what follows for its fate, each step on its own day."""
        story = demo.placement
        assert story is not None
        fate, steps, minute = story.fate, story.steps, _minutes(demo.index)
        origin, destination = province(demo.origin), province(story.destination)
        use = self.placements
        accepted_on = self.time.day(story.proposed_days_ago) + timedelta(days=steps[0])
        self.time.at(accepted_on, minute)
        await use.accept(uow, origin, placement_id, None)
        if fate == S.ACCEPTED:
            return
        onboarded_on = self.time.at(accepted_on + timedelta(days=steps[1]), minute)
        await use.onboard(uow, destination, placement_id, None, onboarded_on)
        ended_on: date | None = None
        if fate in (S.TERMINATED, S.RETURNED_TRAINING, S.RETURNED_NONE_YET):
            ended_on = self.time.at(onboarded_on + timedelta(days=steps[5]), minute)
            await use.terminate(uow, destination, placement_id, None, story.reason)
        elif fate not in (S.ONBOARDED,):
            for months, late in ((3, steps[2]), (6, steps[3])):
                on = self.time.at(add_months(onboarded_on, months) + timedelta(days=late), minute)
                await use.reach_milestone(uow, destination, placement_id, None, months, on)
                if fate == S.RETAINED_3M:
                    return
            if fate == S.RETAINED_6M:
                return
            six_months = add_months(onboarded_on, 6) + timedelta(days=steps[3])
            ended_on = self.time.at(six_months + timedelta(days=steps[4]), minute)
            await use.complete(uow, destination, placement_id, None, ended_on)
        if fate in RETURNS and ended_on is not None:
            follow_up, note = RETURNS[fate]
            returned_on = self.time.at(ended_on + timedelta(days=steps[6]), minute)
            await use.return_home(uow, origin, placement_id, None, returned_on, follow_up, note)


async def seed(
    pool: Pool,
    use: LabourExchange,
    settings: ServiceSettings,
    *,
    workers: int = DEFAULT_WORKERS,
    now: datetime | None = None,
) -> Added:
    """Load the first ``workers`` demo workers, their demands and placements, adding only what is
    missing (see the module's description); ``now`` ends the demo's story (default: now)."""
    if workers < 0:
        raise ValueError("the number of demo workers is at least 0")
    timezone = use.workers.timezone
    clock = ManualClock(now or utc_now())
    today = clock().astimezone(timezone).date()
    seeding = _Seeding(
        pool,
        settings,
        replace(use.workers, clock=clock),
        replace(use.demands, clock=clock),
        replace(use.placements, clock=clock),
        _Timeline(clock, timezone, today),
    )
    demo = demo_workers(workers)
    layout = plan(demo)
    async with pool.acquire() as lock:  # two seeds at once: the second waits, then adds nothing
        await lock.execute("SELECT pg_advisory_lock($1)", _SEED_LOCK)
        try:
            return await _load(seeding, demo, layout)
        finally:
            await lock.execute("SELECT pg_advisory_unlock($1)", _SEED_LOCK)


async def _load(seeding: _Seeding, demo: list[DemoWorker], layout: Plan) -> Added:
    brands = await seeding.brands()
    worker_ids = await seeding.existing_workers(demo)
    new_workers = await seeding.register([w for w in demo if w.index not in worker_ids], brands)
    worker_ids.update(new_workers)

    demands = list(layout.demands.values())
    demand_ids = await seeding.existing_demands(demands)
    new_demands = await seeding.post([d for d in demands if d.key not in demand_ids], brands)
    demand_ids.update(new_demands)

    with_story = [w for w in demo if w.placement is not None]
    placed = await seeding.with_placements([worker_ids[w.index] for w in with_story])
    todo = [w for w in with_story if worker_ids[w.index] not in placed]
    todo.sort(key=lambda w: (-w.placement.proposed_days_ago if w.placement else 0, w.index))
    added = skipped = 0
    for worker in todo:
        demand_id = demand_ids[layout.demand_of[worker.index]]
        if await seeding.place(worker, worker_ids[worker.index], demand_id):
            added += 1
        else:
            skipped += 1
    return Added(len(new_workers), len(new_demands), added, skipped)


# --- The console command ------------------------------------------------------------------------


def arguments(parser: argparse.ArgumentParser) -> None:
    """``seed``'s options."""
    parser.add_argument(
        "--workers",
        type=int,
        default=None,
        help=f"how many demo workers (default: ${WORKERS_VARIABLE} or {DEFAULT_WORKERS}); "
        "the first N are always the same people",
    )


def worker_count(given: int | None, env: Mapping[str, str] | None = None) -> int:
    """``--workers``, else ``LABORCOOP_SEED_WORKERS``, else :data:`DEFAULT_WORKERS`."""
    if given is not None:
        count = given
    else:
        text = (os.environ if env is None else env).get(WORKERS_VARIABLE, "").strip()
        if text and not text.isdigit():
            raise ValueError(f"{WORKERS_VARIABLE}={text!r} is not a whole number")
        count = int(text) if text else DEFAULT_WORKERS
    if count < 0:
        raise ValueError("the number of demo workers is at least 0")
    return count


async def command(
    context: ServiceContext[PlacementsSettings], use: LabourExchange, args: argparse.Namespace
) -> None:
    """``laborcoop-placements seed [--workers N]``: load what is missing, say what was added."""
    added = await seed(context.pool, use, context.settings, workers=worker_count(args.workers))
    print(f"seed: {added} added")
