"""A placement told through the gateway only, on all four services with their relays and
consumers: 湖南 registers a brand and reports its figures; 湖南 and 广东 draft, propose and sign
an agreement linking it; 广东 posts a demand; 湖南 registers a worker of the brand and records
its consent; matching finds the worker; 广东 proposes, 湖南 accepts, the worker starts, stays three
months and returns home to start a business. Each province's overview, the corridors, the brand's
impact, the national overview and the lists then show every step, and add up.

Every call bears a token the gateway issued at ``POST /v1/oauth/token`` to a client registered
as an operator registers it, as in production: no test token."""

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from laborcoop.agreements.app import create_app as create_agreements
from laborcoop.agreements.settings import AgreementsSettings
from laborcoop.common.auth import KeySet
from laborcoop.common.clock import ManualClock
from laborcoop.common.deps import state_of
from laborcoop.common.unit_of_work import unit_of_work
from laborcoop.contracts.identifiers import make_resident_id
from laborcoop.gateway.app import create_app as create_gateway
from laborcoop.gateway.identity.domain import parse_roles
from laborcoop.gateway.identity.keys import new_key_entry
from laborcoop.gateway.settings import GatewaySettings
from laborcoop.gateway.uses import GatewayUses
from laborcoop.placements.app import create_app as create_placements
from laborcoop.placements.protection import Keyring
from laborcoop.placements.settings import PlacementsSettings
from laborcoop.registry.app import create_app as create_registry
from laborcoop.registry.settings import RegistrySettings
from laborcoop.testing import FreshApps, eventually, running
from laborcoop.testing.leaks import WATCH
from services.placements.tests.conftest import key_settings

HUNAN, GUANGDONG, SHANGHAI = "430000", "440000", "310000"
START = datetime(2025, 3, 3, 2, 0, tzinfo=UTC)

pytestmark = pytest.mark.timeout(180)


CLIENTS = {
    HUNAN: ("湖南省人社厅就业信息系统", HUNAN, "province"),
    GUANGDONG: ("广东省人社厅就业信息系统", GUANGDONG, "province"),
    SHANGHAI: ("上海市人社局就业信息系统", SHANGHAI, "province"),
    "ministry": ("人力资源社会保障部", None, "ministry"),
}
"""The provincial systems and the ministry of the story, as an operator registers them."""


@dataclass
class Gateway:
    client: httpx.AsyncClient
    clock: ManualClock
    bearers: dict[str, dict[str, str]]
    """Who → the ``Authorization`` header of the token the gateway issued to its client."""


async def register_clients(issuer: FastAPI, client: httpx.AsyncClient) -> dict[str, dict[str, str]]:
    """Each of :data:`CLIENTS` made through the gateway's identity (as ``clients create`` makes
    it), then its token from ``POST /v1/oauth/token`` (client credentials, HTTP Basic)."""
    uses = state_of(issuer).use_cases
    assert isinstance(uses, GatewayUses)
    bearers: dict[str, dict[str, str]] = {}
    for who, (name, province, role) in CLIENTS.items():
        async with unit_of_work(state_of(issuer).pool, state_of(issuer).settings) as uow:
            made = uses.identity.create(
                uow, name=name, province=province, roles=parse_roles([role])
            )
        answer = await client.post(
            "/v1/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=(str(made.client.id), made.secret),
        )
        assert answer.status_code == 200, answer.text
        bearers[who] = {"Authorization": f"Bearer {answer.json()['access_token']}"}
    return bearers


@pytest.fixture
async def gateway(fresh_apps: FreshApps) -> AsyncIterator[Gateway]:
    """The four services, each verifying the gateway's tokens by the key set the gateway
    publishes. The story's clock stands in 2025 (the views count this year's targets by it),
    and a token must be valid now: the tokens come from another replica of the gateway — same
    database, same signing keys — on the real clock, as any replica would issue them."""
    clock = ManualClock(START)
    quick = {"scheduler_interval_s": 0.5}
    gateway_settings = await fresh_apps.settings(
        GatewaySettings,
        "laborcoop.gateway.migrations",
        view_lag_interval_s=0.5,
        token_signing_keys=new_key_entry("2025-01"),
    )
    issuer = create_gateway(gateway_settings.model_copy(update={"run_workers": False}))
    async with running(issuer) as issuing:
        published = (await issuing.get("/.well-known/jwks.json")).json()
        bearers = await register_clients(issuer, issuing)
    keys = KeySet(
        published, issuer=gateway_settings.jwt_issuer, audience=gateway_settings.jwt_audience
    )
    registry = create_registry(
        await fresh_apps.settings(RegistrySettings, "laborcoop.registry.migrations"),
        keys=keys,
        clock=clock,
    )
    agreements = create_agreements(
        await fresh_apps.settings(AgreementsSettings, "laborcoop.agreements.migrations", **quick),
        keys=keys,
        clock=clock,
    )
    placements = create_placements(
        await fresh_apps.settings(
            PlacementsSettings,
            "laborcoop.placements.migrations",
            **quick,
            **key_settings(Keyring.generate()),
        ),
        keys=keys,
        clock=clock,
    )
    gateway = create_gateway(  # no `keys=`: it verifies with its own signing keys
        gateway_settings,
        clock=clock,
        transports={
            "registry": httpx.ASGITransport(app=registry),
            "agreements": httpx.ASGITransport(app=agreements),
            "placements": httpx.ASGITransport(app=placements),
        },
    )
    async with (
        running(registry),
        running(agreements),
        running(placements),
        running(gateway) as client,
    ):
        yield Gateway(client, clock, bearers)


class Through:
    """Calls to the gateway as one province or another, with the token its client got."""

    def __init__(self, client: httpx.AsyncClient, bearers: dict[str, dict[str, str]]) -> None:
        self.client = client
        self.bearers = bearers

    def as_(self, who: str) -> dict[str, str]:
        return self.bearers[who]

    async def call(
        self, method: str, path: str, who: str, body: Any = None, status: int = 200, **params: Any
    ) -> dict[str, Any]:
        answer = await self.client.request(
            method, path, json=body, params=params, headers=self.as_(who)
        )
        assert answer.status_code == status, (method, path, answer.text)
        found: dict[str, Any] = answer.json()
        return found

    async def until(
        self, method: str, path: str, who: str, body: Any = None, status: int = 201
    ) -> dict[str, Any]:
        """Send until the answer is ``status`` (the owner's copy of another's data follows
        events: it may not have the brand or the agreement yet)."""

        async def sent() -> dict[str, Any] | None:
            answer = await self.client.request(method, path, json=body, headers=self.as_(who))
            found: dict[str, Any] = answer.json()
            return found if answer.status_code == status else None

        return await eventually(sent)


def worker_body(brand_id: str) -> dict[str, Any]:
    body = {
        "name": "李湘茶",
        "resident_id": make_resident_id("430923", date(1992, 4, 2), 7),
        "phone": "13912345678",
        "education": "vocational",
        "occupations": ["4-03-02-09"],
        "brand_id": brand_id,
    }
    WATCH.remember(HUNAN, *(str(body[f]) for f in ("name", "resident_id", "phone")))
    return body


async def test_a_placement_told_through_the_gateway_shows_in_every_view(
    gateway: Gateway,
) -> None:
    clock = gateway.clock
    g = Through(gateway.client, gateway.bearers)

    brand = await g.call(
        "POST",
        "/v1/brands",
        HUNAN,
        {"name": "安化黑茶茶艺师", "province": HUNAN, "category": "culture_tourism"},
        201,
    )
    brand_id = brand["id"]
    await g.call(
        "PUT",
        f"/v1/brands/{brand_id}/indicators/2024",
        HUNAN,
        {"practitioners": 15000, "labour_income_yuan": 1_600_000_000},
        201,
    )
    terms = {
        "title": "湘粤劳务协作",
        "kind": "bilateral",
        "areas": ["job_matching", "joint_brand_building"],
        "parties": [
            {"province": HUNAN, "role": "sending"},
            {"province": GUANGDONG, "role": "receiving"},
        ],
        "targets": [
            {"period": "2025", "origin": HUNAN, "destination": GUANGDONG, "workers_transferred": 50}
        ],
        "linked_brands": [brand_id],
        "effective_from": "2025-01-01",
        "effective_to": "2027-12-31",
    }
    agreement = await g.until("POST", "/v1/agreements", HUNAN, terms)  # once the brand is known
    agreement_id = agreement["id"]
    await g.call("POST", f"/v1/agreements/{agreement_id}/proposal", HUNAN, {})
    await g.call("POST", f"/v1/agreements/{agreement_id}/signatures", HUNAN, {"province": HUNAN})
    signed = await g.call(
        "POST", f"/v1/agreements/{agreement_id}/signatures", GUANGDONG, {"province": GUANGDONG}
    )
    assert signed["status"] == "active"

    demand = await g.call(
        "POST",
        "/v1/demands",
        GUANGDONG,
        {
            "employer_name": "广州某茶饮连锁有限公司",
            "employer_credit_code": "91350100M000100Y43",
            "occupation": "4-03-02-09",
            "headcount": 3,
            "wage_min": 6000,
            "wage_max": 9000,
            "city_code": "440106",
            "start_date": "2025-04-01",
            "preferred_brands": [brand_id],
        },
        201,
    )
    worker = await g.until("POST", "/v1/workers", HUNAN, worker_body(brand_id))
    await g.call(
        "POST",
        f"/v1/workers/{worker['id']}/consents",
        HUNAN,
        {"province": GUANGDONG, "scope": "identity"},
    )

    async def matched() -> dict[str, Any] | None:
        found = await g.call("GET", f"/v1/demands/{demand['id']}/matches", GUANGDONG)
        return found if found["matches"] else None

    matches = await eventually(matched)  # once placements holds the active agreement
    assert matches["origins"] == [HUNAN]
    [match] = matches["matches"]
    assert match["worker_id"] == worker["id"]
    assert match["reasons"]

    placement = await g.call(
        "POST",
        "/v1/placements",
        GUANGDONG,
        {"worker_id": worker["id"], "demand_id": demand["id"]},
        201,
    )
    placement_id = placement["id"]
    assert placement["agreement_id"] == agreement_id
    steps: list[tuple[str, str, dict[str, Any]]] = [
        (HUNAN, "acceptance", {}),
        (GUANGDONG, "onboarding", {"on": "2025-03-03"}),
    ]
    for who, verb, body in steps:
        await g.call("POST", f"/v1/placements/{placement_id}/{verb}", who, body)
    clock.advance(days=100)  # 2025-06-11
    await g.call(
        "POST",
        f"/v1/placements/{placement_id}/milestones",
        GUANGDONG,
        {"months": 3, "on": "2025-06-03"},
    )
    await g.call(
        "POST",
        f"/v1/placements/{placement_id}/return",
        HUNAN,
        {"on": "2025-06-10", "follow_up": "business_startup", "note": "返乡开茶馆"},
    )

    # the views follow the events
    async def projected() -> dict[str, Any] | None:
        found = await g.call("GET", "/v1/placements", HUNAN)
        items = found["items"]
        return items[0] if items and items[0]["status"] == "returned" else None

    listed = await eventually(projected)
    assert (listed["id"], listed["agreement_id"], listed["brand_id"]) == (
        placement_id,
        agreement_id,
        brand_id,
    )
    assert (listed["proposed_on"], listed["onboarded_on"], listed["retained_3m_on"]) == (
        "2025-03-03",
        "2025-03-03",
        "2025-06-03",
    )
    assert (listed["ended_on"], listed["follow_up"]) == ("2025-06-10", "business_startup")
    assert [p["id"] for p in (await g.call("GET", "/v1/placements", GUANGDONG))["items"]] == [
        placement_id
    ]
    assert (await g.call("GET", "/v1/placements", SHANGHAI))["items"] == []
    agreements = await g.call("GET", "/v1/agreements", HUNAN, brand=brand_id)
    assert [a["id"] for a in agreements["items"]] == [agreement_id]
    assert (await g.call("GET", "/v1/agreements", SHANGHAI))["items"] == []
    demands = await g.call("GET", "/v1/demands", GUANGDONG)
    assert [d["id"] for d in demands["items"]] == [demand["id"]]
    assert (await g.call("GET", "/v1/demands", HUNAN))["items"] == []

    async def workers_counted() -> dict[str, Any] | None:
        found = await g.call("GET", f"/v1/provinces/{HUNAN}/overview", HUNAN)
        return found if found["workers"]["total"] == 1 else None

    hunan = await eventually(workers_counted)
    [held] = hunan["brands"]
    assert (held["id"], held["latest"]["period"], held["latest"]["practitioners"]) == (
        brand_id,
        "2024",
        15000,
    )
    assert hunan["agreements"]["by_status"] == {"active": 1}
    assert hunan["placements_outbound"]["by_status"] == {"returned": 1}
    assert hunan["placements_outbound"]["by_month"] == [
        {"month": "2025-03", "proposed": 1, "onboarded": 1, "returned": 0},
        {"month": "2025-06", "proposed": 0, "onboarded": 0, "returned": 1},
    ]
    assert hunan["top_corridors"] == [{"origin": HUNAN, "destination": GUANGDONG, "placements": 1}]
    assert [(t["target"], t["actual"]) for t in hunan["targets"]] == [(50, 1)]
    guangdong = await g.call("GET", f"/v1/provinces/{GUANGDONG}/overview", GUANGDONG)
    assert guangdong["placements_inbound"]["by_status"] == {"returned": 1}
    assert guangdong["targets"] == hunan["targets"]
    shanghai = await g.call("GET", f"/v1/provinces/{HUNAN}/overview", SHANGHAI)
    assert shanghai["targets"] == []  # not a party: aggregates only
    assert shanghai["placements_outbound"] == hunan["placements_outbound"]

    corridors = await g.call("GET", "/v1/corridors", HUNAN, origin=HUNAN)
    [corridor] = corridors["items"]
    assert corridor["placements"]["by_status"] == {"returned": 1}
    assert [a["agreement"]["id"] for a in corridor["agreements"]] == [agreement_id]

    impact = await g.call("GET", f"/v1/brands/{brand_id}/impact", GUANGDONG)
    assert [a["id"] for a in impact["linking"]] == [agreement_id]
    assert impact["placements"]["by_status"] == {"returned": 1}
    assert impact["returns"] == {"total": 1, "by_follow_up": {"business_startup": 1}}
    assert impact["indicators"][0]["practitioners"] == 15000

    national = await g.call("GET", "/v1/national/overview", "ministry")
    assert national["placements"]["total"] == 1
    assert national["agreements"]["by_status"] == {"active": 1}
    assert national["demands"]["total"] == 1
    assert national["workers"]["total"] == 1
    assert national["returns"]["by_follow_up"] == {"business_startup": 1}
