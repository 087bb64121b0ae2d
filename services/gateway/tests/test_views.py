"""The gateway's views over the real broker and database: the events of ``story.py`` are
published to the test's topics as the services publish them, the gateway's consumers project
them, and each view must add up, for each kind of caller, without a foreign row; a redelivered or
older event changes nothing; every answer says how far behind it is."""

import time
from collections import Counter
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import httpx
import pytest
from aiokafka import AIOKafkaProducer

from laborcoop.common.clock import ManualClock
from laborcoop.common.kafka import ensure_topics, new_producer
from laborcoop.contracts import topics
from laborcoop.contracts.agreements import AgreementProposed
from laborcoop.contracts.brands import BrandIndicatorsReported, IndicatorFigures
from laborcoop.contracts.codes import PlacementStatus
from laborcoop.contracts.envelope import CloudEvent
from laborcoop.contracts.events import spec_for
from laborcoop.contracts.placements import PlacementAccepted
from laborcoop.gateway.app import SPEC, create_app
from laborcoop.gateway.settings import GatewaySettings
from laborcoop.gateway.views.lag import measure
from laborcoop.gateway.views.projections import GROUP_OF, SUBSCRIPTIONS
from laborcoop.testing import FreshApps, Tokens, consumed, eventually, publish
from services.gateway.tests.story import (
    A1,
    A2,
    A3,
    A4,
    B1,
    D1,
    D2,
    GUANGDONG,
    HUBEI,
    HUNAN,
    HUNAN_GUANGDONG,
    P1,
    P2,
    P3,
    SHANGHAI,
    YUNNAN,
    Story,
    at,
    placement,
    story,
)

pytestmark = pytest.mark.timeout(120)

NOW = at("2025-08-01")
"""The views' clock: this year is 2025 (a corridor without a target shows this year's actual)."""


@dataclass
class Views:
    client: httpx.AsyncClient
    settings: GatewaySettings
    tokens: Tokens
    producer: AIOKafkaProducer
    published: Counter[str]

    async def publish(self, events: Iterable[CloudEvent]) -> None:
        for topic in await publish(self.producer, self.settings, events):
            self.published[GROUP_OF[topic]] += 1

    async def settle(self) -> None:
        """Until every group has processed (applied, or dropped as a duplicate) all it was sent."""

        outcomes = ("applied", "duplicate", "dead_lettered")

        async def done() -> bool:
            return all(
                sum(consumed(self.settings.topic(group), o) for o in outcomes) >= n
                for group, n in self.published.items()
            )

        await eventually(done)
        for group in self.published:
            assert consumed(self.settings.topic(group), "dead_lettered") == 0, group

    def as_(self, who: str) -> dict[str, str]:
        if who == "ministry":
            return self.tokens.ministry()
        if who == "observer":
            return self.tokens.observer()
        return self.tokens.province(who)

    async def get(self, path: str, who: str, **params: Any) -> dict[str, Any]:
        answer = await self.client.get(path, params=params, headers=self.as_(who))
        assert answer.status_code == 200, answer.text
        body: dict[str, Any] = answer.json()
        return body

    async def ids(self, path: str, who: str, **params: Any) -> list[str]:
        return [item["id"] for item in (await self.get(path, who, **params))["items"]]


@pytest.fixture
async def views(fresh_apps: FreshApps, tokens: Tokens) -> AsyncIterator[Views]:
    settings = await fresh_apps.settings(
        GatewaySettings, SPEC.migration_package, run_workers=True, view_lag_interval_s=0.2
    )
    await ensure_topics(settings, topics.ALL)
    producer = new_producer(settings, client_id="story")
    await producer.start()
    try:
        async with fresh_apps.running(create_app, settings, clock=ManualClock(NOW)) as (_, client):
            yield Views(client, settings, tokens, producer, Counter())
    finally:
        await producer.stop()


@pytest.fixture
async def told(views: Views) -> Views:
    await views.publish(story().events)
    await views.settle()
    return views


def s(*ids: UUID) -> list[str]:
    return sorted(str(i) for i in ids)


# -- lists ------------------------------------------------------------------------------------


async def test_each_caller_lists_the_agreements_it_may_see(told: Views) -> None:
    assert await told.ids("/v1/agreements", HUNAN) == s(A1, A4)  # party; not 广东's draft A2
    assert await told.ids("/v1/agreements", GUANGDONG) == s(A1, A2)  # A2: its own draft
    assert await told.ids("/v1/agreements", SHANGHAI) == s(A3)
    assert await told.ids("/v1/agreements", HUBEI) == s(A4)
    assert await told.ids("/v1/agreements", "ministry") == s(A1, A3)  # public states only
    # the agreements service's filters, by their names
    assert await told.ids("/v1/agreements", HUNAN, status="proposed") == s(A4)
    assert await told.ids("/v1/agreements", HUNAN, origin=HUNAN, destination=GUANGDONG) == s(A1)
    assert await told.ids("/v1/agreements", HUNAN, destination=GUANGDONG) == s(A1)
    assert await told.ids("/v1/agreements", HUNAN, brand=str(B1)) == s(A1)
    assert await told.ids("/v1/agreements", GUANGDONG, brand=str(B1)) == s(A1, A2)
    assert await told.ids("/v1/agreements", HUNAN, active_on="2025-06-01") == s(A1)
    assert await told.ids("/v1/agreements", HUNAN, party=SHANGHAI) == []  # no foreign row
    assert await told.ids("/v1/agreements", "ministry", party=SHANGHAI) == s(A3)
    [a1] = (await told.get("/v1/agreements", HUNAN, kind="bilateral", status="active"))["items"]
    assert a1["terms"]["title"] == "湘粤劳务协作"
    assert (a1["status"], a1["revision"], a1["version"]) == ("active", 1, 5)


async def test_each_caller_lists_the_demands_it_may_see(told: Views) -> None:
    assert await told.ids("/v1/demands", HUNAN) == []
    assert await told.ids("/v1/demands", GUANGDONG) == s(D1)
    assert await told.ids("/v1/demands", HUNAN, province=GUANGDONG) == []  # no foreign row
    assert await told.ids("/v1/demands", "ministry") == s(D1, D2)
    assert await told.ids("/v1/demands", "ministry", status="closed") == s(D2)
    [d2] = (await told.get("/v1/demands", SHANGHAI))["items"]
    assert (d2["status"], d2["closed_reason"], d2["province"]) == ("closed", "本地招满", SHANGHAI)


async def test_each_province_lists_the_placements_it_is_a_side_of(told: Views) -> None:
    assert await told.ids("/v1/placements", HUNAN) == s(P1, P2)
    assert await told.ids("/v1/placements", GUANGDONG) == s(P1, P2)
    assert await told.ids("/v1/placements", YUNNAN) == s(P3)
    assert await told.ids("/v1/placements", SHANGHAI, origin=HUNAN) == []  # no foreign row
    assert await told.ids("/v1/placements", HUNAN, origin=YUNNAN) == []
    assert await told.ids("/v1/placements", GUANGDONG, status="returned") == s(P1)
    assert await told.ids("/v1/placements", HUNAN, agreement=str(A1)) == s(P1, P2)
    assert await told.ids("/v1/placements", HUNAN, brand=str(B1)) == s(P1)
    # P2 was proposed on 31 March in UTC, 1 April in Beijing: the calendar is Beijing's
    assert await told.ids("/v1/placements", HUNAN, period="2025-Q1") == s(P1)
    assert await told.ids("/v1/placements", HUNAN, period="2025-Q2") == s(P2)
    assert await told.ids("/v1/placements", HUNAN, period="2025") == s(P1, P2)
    items = {p["id"]: p for p in (await told.get("/v1/placements", HUNAN))["items"]}
    p1, p2 = items[str(P1)], items[str(P2)]
    assert p1["proposed_on"] == "2025-03-01"
    assert (p1["onboarded_on"], p1["retained_3m_on"], p1["retained_6m_on"]) == (
        "2025-03-10",
        "2025-06-10",
        None,
    )
    assert (p1["status"], p1["ended_on"], p1["follow_up"]) == (
        "returned",
        "2025-07-01",
        "business_startup",
    )
    assert (p2["proposed_on"], p2["status"], p2["end_reason"]) == (
        "2025-04-01",
        "declined",
        "另有安排",
    )
    for refused in ("ministry", "observer"):
        answer = await told.client.get("/v1/placements", headers=told.as_(refused))
        assert answer.status_code == 403, answer.text


async def test_a_list_pages_through_every_row_once(told: Views) -> None:
    seen: list[str] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": 1} | ({"cursor": cursor} if cursor else {})
        page = await told.get("/v1/agreements", "ministry", **params)
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == s(A1, A3)
    provinces = await told.get("/v1/provinces", HUNAN, limit=30)
    assert len(provinces["items"]) == 30
    rest = await told.get("/v1/provinces", HUNAN, cursor=provinces["next_cursor"])
    assert [p["code"] for p in rest["items"]] == ["650000"]
    assert rest["next_cursor"] is None


# -- aggregates -------------------------------------------------------------------------------


async def test_a_provinces_overview_adds_up(told: Views) -> None:
    own = await told.get(f"/v1/provinces/{HUNAN}/overview", HUNAN)
    assert (own["code"], own["name"], own["own"]) == (HUNAN, "湖南省", True)
    assert own["brands_total"] == 1
    [brand] = own["brands"]
    assert (brand["id"], brand["status"], brand["level"]) == (str(B1), "recognised", "province")
    assert brand["latest"]["period"] == "2024"
    assert (brand["latest"]["revision"], brand["latest"]["practitioners"]) == (2, 15500)
    # A1 active and A4 proposed; 广东's draft A2 names 湖南 but is counted only by 广东
    assert own["agreements"] == {
        "total": 2,
        "by_kind": {"bilateral": 2},
        "by_status": {"active": 1, "proposed": 1},
    }
    outbound = own["placements_outbound"]
    assert outbound["total"] == 2
    assert outbound["by_status"] == {"declined": 1, "returned": 1}
    assert outbound["by_month"] == [
        {"month": "2025-03", "proposed": 1, "onboarded": 1, "returned": 0},
        {"month": "2025-04", "proposed": 1, "onboarded": 0, "returned": 0},
        {"month": "2025-07", "proposed": 0, "onboarded": 0, "returned": 1},
    ]
    assert own["placements_inbound"] == {"total": 0, "by_status": {}, "by_month": []}
    assert own["workers"] == {"total": 3, "by_availability": {"available": 2, "placed": 1}}
    assert own["top_corridors"] == [
        {"origin": HUNAN, "destination": GUANGDONG, "placements": 1}  # declined P2 aside
    ]
    assert own["top_brands"] == [
        {"brand_id": str(B1), "name": "安化黑茶茶艺师", "province": HUNAN, "placements": 1}
    ]
    assert own["targets"] == [
        {
            "agreement_id": str(A1),
            "title": "湘粤劳务协作",
            "origin": HUNAN,
            "destination": GUANGDONG,
            "period": "2025",
            "target": 100,
            "actual": 1,
        }
    ]
    assert {f["topic"] for f in own["freshness"]} == set(
        GROUP_OF
    )  # every topic a view is built from

    # 广东's own overview counts its draft A2
    guangdong = await told.get(f"/v1/provinces/{GUANGDONG}/overview", GUANGDONG)
    assert guangdong["agreements"]["by_status"] == {"active": 1, "draft": 1}
    assert guangdong["placements_inbound"]["by_status"] == {"declined": 1, "returned": 1}

    # another province, and the ministry, see the same aggregates; records only of agreements
    # they may see (上海 is no party to A1)
    other = await told.get(f"/v1/provinces/{HUNAN}/overview", SHANGHAI)
    ministry = await told.get(f"/v1/provinces/{HUNAN}/overview", "ministry")
    assert other["own"] is False
    assert ministry["own"] is True
    assert other["targets"] == []
    assert ministry["targets"] == own["targets"]
    for seen in (other, ministry):
        for part in ("agreements", "placements_outbound", "workers", "top_corridors", "brands"):
            assert seen[part] == own[part], part
    assert guangdong["targets"] == own["targets"]


async def test_corridors_show_flows_and_the_agreements_covering_them(told: Views) -> None:
    page = await told.get("/v1/corridors", HUNAN)
    corridors = {(c["origin"], c["destination"]): c for c in page["items"]}
    assert list(corridors) == [(HUNAN, GUANGDONG), (YUNNAN, SHANGHAI)]
    ours = corridors[(HUNAN, GUANGDONG)]
    assert ours["placements"]["by_status"] == {"declined": 1, "returned": 1}
    assert ours["covered"] is True
    [covering] = ours["agreements"]
    assert covering["agreement"]["id"] == str(A1)
    assert covering["targets"][0]["actual"] == 1
    theirs = corridors[(YUNNAN, SHANGHAI)]
    assert theirs["placements"]["by_status"] == {"proposed": 1}
    assert (theirs["covered"], theirs["agreements"]) == (True, [])  # A3: not 湖南's to see
    shanghai = await told.get("/v1/corridors", SHANGHAI, origin=YUNNAN)
    [seen] = shanghai["items"]
    assert [a["agreement"]["id"] for a in seen["agreements"]] == [str(A3)]
    assert seen["agreements"][0]["targets"] == [
        {
            "agreement_id": str(A3),
            "title": "深化沪滇劳务协作",
            "origin": YUNNAN,
            "destination": SHANGHAI,
            "period": "2025",
            "target": None,
            "actual": 1,
        }
    ]
    first = await told.get("/v1/corridors", "ministry", limit=1)
    second = await told.get("/v1/corridors", "ministry", cursor=first["next_cursor"])
    assert [c["origin"] for c in first["items"] + second["items"]] == [HUNAN, YUNNAN]
    assert second["next_cursor"] is None


async def test_a_brands_impact_adds_up(told: Views) -> None:
    impact = await told.get(f"/v1/brands/{B1}/impact", HUNAN)
    assert impact["brand"]["name"] == "安化黑茶茶艺师"
    assert [(i["period"], i["revision"], i["practitioners"]) for i in impact["indicators"]] == [
        ("2023", 1, 14000),
        ("2024", 2, 15500),
    ]
    assert impact["agreements"] == {
        "total": 1,
        "by_kind": {"bilateral": 1},
        "by_status": {"active": 1},
    }  # 广东's draft A2 links it too, and is no one else's to count
    assert [a["id"] for a in impact["linking"]] == [str(A1)]
    guangdong = await told.get(f"/v1/brands/{B1}/impact", GUANGDONG)
    assert [a["id"] for a in guangdong["linking"]] == s(A1, A2)
    assert impact["workers"] == {"total": 1, "by_availability": {"placed": 1}}
    assert impact["placements"]["by_status"] == {"returned": 1}
    assert impact["destinations"] == [{"origin": HUNAN, "destination": GUANGDONG, "placements": 1}]
    assert impact["returns"] == {"total": 1, "by_follow_up": {"business_startup": 1}}
    missing = await told.client.get(f"/v1/brands/{UUID(int=7)}/impact", headers=told.as_(HUNAN))
    assert missing.status_code == 404, missing.text


async def test_the_national_overview_adds_up(told: Views) -> None:
    national = await told.get("/v1/national/overview", "observer")
    assert national["brands"]["total"] == 2
    assert national["brands"]["by_status"] == {"recognised": 1, "registered": 1}
    assert (national["brands"]["reporting"], national["brands"]["practitioners"]) == (1, 15500)
    assert national["agreements"]["by_status"] == {"active": 2, "proposed": 1}  # no draft
    assert national["demands"] == {
        "total": 2,
        "by_status": {"closed": 1, "open": 1},
        "open_headcount": 5,
    }
    assert national["placements"]["by_status"] == {"declined": 1, "proposed": 1, "returned": 1}
    assert sum(m["proposed"] for m in national["placements"]["by_month"]) == 3
    assert national["workers"] == {"total": 4, "by_availability": {"available": 3, "placed": 1}}
    assert national["returns"]["total"] == 1
    assert national["top_corridors"] == [
        {"origin": HUNAN, "destination": GUANGDONG, "placements": 1},
        {"origin": YUNNAN, "destination": SHANGHAI, "placements": 1},
    ]
    # the provinces' headline figures add up to the nation's
    provinces = (await told.get("/v1/provinces", "ministry"))["items"]
    assert sum(p["workers"] for p in provinces) == national["workers"]["total"]
    assert sum(p["brands"] for p in provinces) == national["brands"]["total"]
    by_code = {p["code"]: p for p in provinces}
    assert by_code[HUNAN]["placements_outbound"] == 1
    assert by_code[GUANGDONG]["placements_inbound"] == 1
    assert by_code[HUNAN]["active_agreements"] == 1
    assert by_code[GUANGDONG]["open_demands"] == 1


# -- exactly once, in order -------------------------------------------------------------------

SNAPSHOT_VIEWS = [
    ("/v1/agreements", HUNAN),
    ("/v1/agreements", "ministry"),
    ("/v1/demands", "ministry"),
    ("/v1/placements", HUNAN),
    ("/v1/placements", YUNNAN),
    ("/v1/provinces", "ministry"),
    (f"/v1/provinces/{HUNAN}/overview", HUNAN),
    ("/v1/corridors", "ministry"),
    (f"/v1/brands/{B1}/impact", HUNAN),
    ("/v1/national/overview", "observer"),
]


async def snapshot(views: Views) -> list[dict[str, Any]]:
    answers = []
    for path, who in SNAPSHOT_VIEWS:
        body = await views.get(path, who)
        body.pop("freshness")
        answers.append(body)
    return answers


async def test_redelivered_and_older_events_change_nothing(told: Views) -> None:
    before = await snapshot(told)
    told_again = story()
    await told.publish(told_again.events)  # the same events, ids and all: the inbox drops them
    older = Story()
    stale = [
        # new ids, sequences not newer than the rows': ignored whole
        older.older(
            P1,
            placement(PlacementAccepted, P1, status=PlacementStatus.ACCEPTED),
            2,
            at("2025-08-01"),
        ),
        older.older(
            A1,
            AgreementProposed(agreement_id=A1, revision=1, terms=HUNAN_GUANGDONG),
            2,
            at("2025-08-01"),
        ),
        older.older(
            B1,
            BrandIndicatorsReported(
                brand_id=B1,
                period="2024",
                figures=IndicatorFigures(practitioners=1),
                revision=9,
                correction=True,
            ),
            4,
            at("2025-08-01"),
        ),
    ]
    await told.publish(stale)
    await told.settle()
    assert await snapshot(told) == before


# -- who may call what --------------------------------------------------------------------------

ROUTES = [
    "/v1/agreements",
    "/v1/demands",
    "/v1/placements",
    "/v1/provinces",
    f"/v1/provinces/{HUNAN}/overview",
    "/v1/corridors",
    f"/v1/brands/{B1}/impact",
    "/v1/national/overview",
]
EXPECTED = {
    # route: (own province, other province, ministry, observer)
    "/v1/agreements": (200, 200, 200, 403),
    "/v1/demands": (200, 200, 200, 403),
    "/v1/placements": (200, 200, 403, 403),
    "/v1/provinces": (200, 200, 200, 403),
    f"/v1/provinces/{HUNAN}/overview": (200, 200, 200, 403),
    "/v1/corridors": (200, 200, 200, 403),
    f"/v1/brands/{B1}/impact": (200, 200, 200, 403),
    "/v1/national/overview": (200, 200, 200, 200),
}


@pytest.mark.parametrize("route", ROUTES)
async def test_every_view_answers_each_caller_as_the_rules_say(told: Views, route: str) -> None:
    callers = [
        told.tokens.province(HUNAN),
        told.tokens.province(SHANGHAI),
        told.tokens.ministry(),
        told.tokens.observer(),
    ]
    answers = [(await told.client.get(route, headers=h)).status_code for h in callers]
    assert tuple(answers) == EXPECTED[route]
    signer = told.tokens.signer
    refused = {
        "no token": ({}, 401),
        "expired": (
            {
                "Authorization": "Bearer "
                + signer.sign("x", province=HUNAN, roles=["province"], now=time.time() - 3600)
            },
            401,
        ),
        "no role": (
            {"Authorization": "Bearer " + signer.sign("x", province=None, roles=[])},
            403,
        ),
    }
    for name, (headers, status) in refused.items():
        answer = await told.client.get(route, headers=headers)
        assert answer.status_code == status, (name, answer.text)
        assert answer.headers["content-type"] == "application/problem+json"


FOREIGN_CHECKS = {
    # who: what each list may hold
    HUNAN: {"agreements": {A1, A4}, "demands": set(), "placements": {P1, P2}},
    GUANGDONG: {"agreements": {A1, A2}, "demands": {D1}, "placements": {P1, P2}},
    SHANGHAI: {"agreements": {A3}, "demands": {D2}, "placements": {P3}},
    "ministry": {"agreements": {A1, A3}, "demands": {D1, D2}},
}
FILTERS = {
    "agreements": [
        {},
        {"party": SHANGHAI},
        {"party": HUNAN},
        {"status": "active"},
        {"origin": YUNNAN},
    ],
    "demands": [{}, {"province": GUANGDONG}, {"province": SHANGHAI}, {"status": "open"}],
    "placements": [{}, {"origin": YUNNAN}, {"destination": SHANGHAI}, {"origin": HUNAN}],
}


@pytest.mark.parametrize("who", list(FOREIGN_CHECKS))
async def test_no_list_ever_shows_a_foreign_row(told: Views, who: str) -> None:
    for kind, allowed in FOREIGN_CHECKS[who].items():
        for params in FILTERS[kind]:
            listed = set(await told.ids(f"/v1/{kind}", who, **params))
            assert listed <= {str(i) for i in allowed}, (kind, params)


# -- how far behind -------------------------------------------------------------------------------


async def test_every_view_says_how_far_behind_it_is(told: Views) -> None:
    newest: dict[str, datetime] = {}
    for event in story().events:
        spec = spec_for(event.type)
        assert spec is not None
        newest[spec.topic] = max(newest.get(spec.topic, event.time), event.time)

    async def caught_up() -> dict[str, Any] | None:
        body = await told.get("/v1/national/overview", "observer")
        fresh = {f["topic"]: f for f in body["freshness"]}
        return fresh if all(f["lag"] == 0 for f in fresh.values()) else None

    fresh = await eventually(caught_up)
    assert set(fresh) == set(GROUP_OF)
    for topic, f in fresh.items():
        assert f["consumer_group"] == GROUP_OF[topic]
        assert f["last_event_at"] == newest[topic].isoformat().replace("+00:00", "Z")
        assert f["lag_measured_at"] is not None
    placements = await told.get("/v1/placements", HUNAN)
    assert [f["topic"] for f in placements["freshness"]] == [topics.PLACEMENTS]


async def test_the_lag_is_what_the_group_has_not_committed(
    fresh_apps: FreshApps,
) -> None:
    settings = await fresh_apps.settings(GatewaySettings, SPEC.migration_package)
    await ensure_topics(settings, topics.ALL)
    producer = new_producer(settings, client_id="lag")
    await producer.start()
    try:
        events = story().events
        for event in events:
            spec = spec_for(event.type)
            assert spec is not None
            await producer.send_and_wait(
                settings.topic(spec.topic), value=event.to_json_bytes(), key=event.subject.encode()
            )
    finally:
        await producer.stop()
    sent = Counter(spec.topic for e in events if (spec := spec_for(e.type)) is not None)
    before = {lag.topic: lag.records for lag in await measure(settings, SUBSCRIPTIONS)}
    assert before == dict(sent)  # no group has committed: every record is behind
    async with fresh_apps.running(create_app, settings.model_copy(update={"run_workers": True})):

        async def none_behind() -> bool:
            lags = await measure(settings, SUBSCRIPTIONS)
            return all(lag.records == 0 for lag in lags)

        await eventually(none_behind)
