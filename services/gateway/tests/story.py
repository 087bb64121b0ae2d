"""A small world told in events, as the services would publish them: brands of 湖南 and 广东,
four agreements in different states and parties, two demands, four workers and three
placements, one of which goes all the way home (``test_views.py`` says what each view shows)."""

from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID, uuid4

from laborcoop.contracts.agreements import (
    AgreementActivated,
    AgreementDrafted,
    AgreementProposed,
    AgreementSigned,
    Party,
    Target,
    Terms,
)
from laborcoop.contracts.brands import (
    BrandIndicatorsReported,
    BrandRecognised,
    BrandRegistered,
    IndicatorFigures,
)
from laborcoop.contracts.codes import (
    AgreementKind,
    Availability,
    BrandCategory,
    BrandLevel,
    ConsentScope,
    DemandKind,
    DemandStatus,
    PartyRole,
    PlacementStatus,
    ReturnPath,
)
from laborcoop.contracts.envelope import CloudEvent
from laborcoop.contracts.events import EventPayload, new_event
from laborcoop.contracts.placements import (
    DemandClosed,
    DemandPosted,
    PlacementAccepted,
    PlacementDeclined,
    PlacementMilestoneReached,
    PlacementOnboarded,
    PlacementProposed,
    PlacementReturned,
    WorkerConsentChanged,
    WorkerRegistered,
    WorkerUpdated,
)
from laborcoop.gateway.subscriptions.repository import Subscription

HUNAN, GUANGDONG, SHANGHAI, YUNNAN, HUBEI = "430000", "440000", "310000", "530000", "420000"


def uuid(n: int) -> UUID:
    return UUID(int=n)


B1, B2 = uuid(0xB1), uuid(0xB2)
A1, A2, A3, A4 = uuid(0xA1), uuid(0xA2), uuid(0xA3), uuid(0xA4)
D1, D2 = uuid(0xD1), uuid(0xD2)
W1, W2, W3, W4 = uuid(0x1001), uuid(0x1002), uuid(0x1003), uuid(0x1004)
P1, P2, P3 = uuid(0x2001), uuid(0x2002), uuid(0x2003)


def at(day: str, hour: int = 2) -> datetime:
    """An instant of ``day`` (Beijing 10:00 at the default hour, 02:00 UTC)."""
    return datetime.combine(date.fromisoformat(day), datetime.min.time(), UTC).replace(hour=hour)


@dataclass
class Story:
    events: list[CloudEvent] = field(default_factory=list)
    versions: dict[UUID, int] = field(default_factory=dict)

    def tell(self, subject: UUID, payload: EventPayload, when: datetime, *provinces: str) -> None:
        version = self.versions.get(subject, 0) + 1
        self.versions[subject] = version
        self.events.append(
            new_event(
                payload, subject=str(subject), version=version, provinces=provinces, time=when
            )
        )

    def older(
        self, subject: UUID, payload: EventPayload, version: int, when: datetime
    ) -> CloudEvent:
        """A new event (its own id) whose sequence is not newer than what ``subject`` reached."""
        return new_event(payload, subject=str(subject), version=version, provinces=[], time=when)


def terms(
    title: str,
    parties: list[tuple[str, PartyRole]],
    initiator: str,
    *,
    targets: tuple[Target, ...] = (),
    brands: tuple[UUID, ...] = (),
    kind: AgreementKind = AgreementKind.BILATERAL,
) -> Terms:
    return Terms(
        title=title,
        kind=kind,
        parties=tuple(Party(province=p, role=r) for p, r in parties),
        initiator=initiator,
        targets=targets,
        linked_brands=brands,
        effective_from=date(2025, 1, 1),
        effective_to=date(2027, 12, 31),
    )


HUNAN_GUANGDONG = terms(
    "湘粤劳务协作",
    [(HUNAN, PartyRole.SENDING), (GUANGDONG, PartyRole.RECEIVING)],
    HUNAN,
    targets=(Target(period="2025", origin=HUNAN, destination=GUANGDONG, workers_transferred=100),),
    brands=(B1,),
)
GUANGDONG_DRAFT = terms(
    "粤湘共享员工(草案)",
    [(GUANGDONG, PartyRole.RECEIVING), (HUNAN, PartyRole.SENDING)],
    GUANGDONG,
    brands=(B1,),
)
SHANGHAI_YUNNAN = terms(
    "深化沪滇劳务协作", [(SHANGHAI, PartyRole.RECEIVING), (YUNNAN, PartyRole.SENDING)], SHANGHAI
)
HUNAN_HUBEI = terms("湘鄂劳务协作", [(HUNAN, PartyRole.BOTH), (HUBEI, PartyRole.BOTH)], HUBEI)


def placement(
    payload: type[EventPayload],
    placement_id: UUID,
    *,
    status: PlacementStatus,
    origin: str = HUNAN,
    destination: str = GUANGDONG,
    worker: UUID = W1,
    demand: UUID = D1,
    agreement: UUID | None = A1,
    brand: UUID | None = B1,
    **details: Any,
) -> EventPayload:
    return payload.model_validate(
        {
            "placement_id": placement_id,
            "worker_id": worker,
            "demand_id": demand,
            "origin": origin,
            "destination": destination,
            "agreement_id": agreement,
            "brand_id": brand,
            "status": status,
            **details,
        }
    )


def demand(demand_id: UUID, province: str, city: str) -> DemandPosted:
    return DemandPosted(
        demand_id=demand_id,
        province=province,
        kind=DemandKind.PLACEMENT,
        employer_name="某物业服务有限公司",
        employer_credit_code="91350100M000100Y43",
        occupation="4-10-01-01",
        headcount=5,
        wage_min=6000,
        wage_max=9000,
        city_code=city,
        start_date=date(2025, 4, 1),
    )


def worker(
    payload: type[EventPayload],
    worker_id: UUID,
    origin: str,
    availability: Availability,
    brand: UUID | None,
) -> EventPayload:
    return payload.model_validate(
        {
            "worker_id": worker_id,
            "origin": origin,
            "occupations": ["4-10-01-01"],
            "brand_id": brand,
            "availability": availability,
        }
    )


def story() -> Story:
    s = Story()
    # brands
    s.tell(
        B1,
        BrandRegistered(
            brand_id=B1,
            name="安化黑茶茶艺师",
            province=HUNAN,
            category=BrandCategory.CULTURE_TOURISM,
        ),
        at("2024-11-21"),
        HUNAN,
    )
    s.tell(
        B1,
        BrandRecognised(brand_id=B1, level=BrandLevel.PROVINCE, recognised_by="province"),
        at("2024-11-22"),
        HUNAN,
    )
    for period, practitioners, revision in (
        ("2023", 14000, 1),
        ("2024", 15000, 1),
        ("2024", 15500, 2),
    ):
        s.tell(
            B1,
            BrandIndicatorsReported(
                brand_id=B1,
                period=period,
                figures=IndicatorFigures(
                    practitioners=practitioners, labour_income_yuan=1_600_000_000
                ),
                revision=revision,
                correction=revision > 1,
            ),
            at("2024-12-01"),
            HUNAN,
        )
    s.tell(
        B2,
        BrandRegistered(
            brand_id=B2, name="粤菜师傅", province=GUANGDONG, category=BrandCategory.SKILLED_TRADES
        ),
        at("2024-11-21"),
        GUANGDONG,
    )
    # agreements: A1 active, A2 a draft of 广东, A3 active elsewhere, A4 proposed
    s.tell(
        A1,
        AgreementDrafted(agreement_id=A1, revision=1, terms=HUNAN_GUANGDONG),
        at("2024-12-01"),
        HUNAN,
    )
    both = (HUNAN, GUANGDONG)
    s.tell(
        A1,
        AgreementProposed(agreement_id=A1, revision=1, terms=HUNAN_GUANGDONG),
        at("2024-12-02"),
        *both,
    )
    s.tell(
        A1,
        AgreementSigned(agreement_id=A1, revision=1, province=HUNAN, remaining=(GUANGDONG,)),
        at("2024-12-03"),
        *both,
    )
    s.tell(
        A1,
        AgreementSigned(agreement_id=A1, revision=1, province=GUANGDONG, remaining=()),
        at("2024-12-04"),
        *both,
    )
    s.tell(
        A1,
        AgreementActivated(agreement_id=A1, revision=1, terms=HUNAN_GUANGDONG),
        at("2025-01-01", 0),
        *both,
    )
    s.tell(
        A2,
        AgreementDrafted(agreement_id=A2, revision=1, terms=GUANGDONG_DRAFT),
        at("2025-01-05"),
        GUANGDONG,
    )
    s.tell(
        A3,
        AgreementActivated(agreement_id=A3, revision=1, terms=SHANGHAI_YUNNAN),
        at("2025-01-01", 0),
        SHANGHAI,
        YUNNAN,
    )
    s.tell(
        A4,
        AgreementDrafted(agreement_id=A4, revision=1, terms=HUNAN_HUBEI),
        at("2025-01-06"),
        HUBEI,
    )
    s.tell(
        A4,
        AgreementProposed(agreement_id=A4, revision=1, terms=HUNAN_HUBEI),
        at("2025-01-07"),
        HUNAN,
        HUBEI,
    )
    # demands
    s.tell(D1, demand(D1, GUANGDONG, "440106"), at("2025-02-01"), GUANGDONG)
    s.tell(D2, demand(D2, SHANGHAI, "310115"), at("2025-02-01"), SHANGHAI)
    s.tell(
        D2,
        DemandClosed(
            demand_id=D2, province=SHANGHAI, status=DemandStatus.CLOSED, reason="本地招满"
        ),
        at("2025-02-20"),
        SHANGHAI,
    )
    # workers: three of 湖南 (one of brand B1), one of 云南
    s.tell(
        W1, worker(WorkerRegistered, W1, HUNAN, Availability.AVAILABLE, B1), at("2025-02-01"), HUNAN
    )
    s.tell(
        W2,
        worker(WorkerRegistered, W2, HUNAN, Availability.AVAILABLE, None),
        at("2025-02-01"),
        HUNAN,
    )
    s.tell(
        W3,
        worker(WorkerRegistered, W3, HUNAN, Availability.AVAILABLE, None),
        at("2025-02-01"),
        HUNAN,
    )
    s.tell(
        W4,
        worker(WorkerRegistered, W4, YUNNAN, Availability.AVAILABLE, None),
        at("2025-02-01"),
        YUNNAN,
    )
    s.tell(
        W1,
        WorkerConsentChanged(
            worker_id=W1,
            origin=HUNAN,
            province=GUANGDONG,
            scope=ConsentScope.IDENTITY,
            granted=True,
        ),
        at("2025-02-02"),
        HUNAN,
        GUANGDONG,
    )
    # P1: 湖南 → 广东 under A1, all the way home to a business of its own
    sides = (HUNAN, GUANGDONG)
    s.tell(
        P1,
        placement(PlacementProposed, P1, status=PlacementStatus.PROPOSED, occupation="4-10-01-01"),
        at("2025-03-01"),
        *sides,
    )
    s.tell(
        P1,
        placement(PlacementAccepted, P1, status=PlacementStatus.ACCEPTED),
        at("2025-03-02"),
        *sides,
    )
    s.tell(W1, worker(WorkerUpdated, W1, HUNAN, Availability.PLACED, B1), at("2025-03-02"), HUNAN)
    s.tell(
        P1,
        placement(PlacementOnboarded, P1, status=PlacementStatus.ONBOARDED, on=date(2025, 3, 10)),
        at("2025-03-10"),
        *sides,
    )
    s.tell(
        P1,
        placement(
            PlacementMilestoneReached,
            P1,
            status=PlacementStatus.ONBOARDED,
            months=3,
            on=date(2025, 6, 10),
        ),
        at("2025-06-10"),
        *sides,
    )
    s.tell(
        P1,
        placement(
            PlacementReturned,
            P1,
            status=PlacementStatus.RETURNED,
            on=date(2025, 7, 1),
            follow_up=ReturnPath.BUSINESS_STARTUP,
            note="返乡创办茶馆",
        ),
        at("2025-07-01"),
        *sides,
    )
    # P2: proposed on 31 March at 17:00 UTC, which is 1 April in Beijing (Q2 there); declined
    s.tell(
        P2,
        placement(
            PlacementProposed,
            P2,
            status=PlacementStatus.PROPOSED,
            worker=W2,
            brand=None,
            occupation="4-10-01-01",
        ),
        at("2025-03-31", 17),
        *sides,
    )
    s.tell(
        P2,
        placement(
            PlacementDeclined,
            P2,
            status=PlacementStatus.DECLINED,
            worker=W2,
            brand=None,
            reason="另有安排",
        ),
        at("2025-04-01"),
        *sides,
    )
    # P3: 云南 → 上海 under A3
    s.tell(
        P3,
        placement(
            PlacementProposed,
            P3,
            status=PlacementStatus.PROPOSED,
            origin=YUNNAN,
            destination=SHANGHAI,
            worker=W4,
            demand=D2,
            agreement=A3,
            brand=None,
            occupation="4-10-01-01",
        ),
        at("2025-02-10"),
        YUNNAN,
        SHANGHAI,
    )
    return s


def stored_subscription(**changes: Any) -> Subscription:
    """A subscription of 湖南's client to every event it may receive, as the table holds it
    (its secret a placeholder unless ``changes`` give one), with ``changes``."""
    made = Subscription(
        id=uuid4(),
        client_id="hr-430000",
        province=HUNAN,
        everything=False,
        url="https://hr.example.cn/hook",
        types=(),
        provinces=(),
        status="active",
        disabled_reason=None,
        secret="v1:sealed",
        previous_secret=None,
        previous_secret_until=None,
        log_cursor=0,
        failing_since=None,
        version=1,
        created_at=datetime(2025, 3, 1, 8, 0, tzinfo=UTC),
        updated_at=datetime(2025, 3, 1, 8, 0, tzinfo=UTC),
    )
    return replace(made, **changes)
