"""Who may do what through the gateway: every route it serves or forwards × every kind of caller.

The routes are enumerated from the apps, not listed by hand: the gateway's own routes, and for
each route it forwards, every route of the owning service it reaches (a route the gateway
answers from its views shadows the owner's). :data:`ROWS` must name exactly those, so a new route
fails this test until its row says who may use it.

The callers: the province whose resource the route names (``own``), a province with no part in
it (``other``, 云南), the ministry and an observer — each with a token the gateway issued to a
client registered as an operator registers it — then no token, and four tokens built by hand
(base64url JSON, never with our signer): expired, signed by a key nobody published, ``alg``
none, and HS256 with the gateway's public key as the HMAC secret. The last five get 401 on
every route that takes a token, before anything is forwarded. No cell is ever a 500.

Each row runs its callers in that order, ``own`` last, so a command the others are refused
runs once, for its own province; the rows run in order, along the life of the world's records.
A list never shows a province another province's records, and refuses ``limit`` above 200.
"""

import base64
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final
from uuid import uuid4
from zoneinfo import ZoneInfo

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import FastAPI
from fastapi.routing import APIRoute
from starlette.routing import Route

from laborcoop.agreements.app import create_app as create_agreements
from laborcoop.agreements.settings import AgreementsSettings
from laborcoop.common.deps import state_of
from laborcoop.common.middleware import routes_in_order
from laborcoop.common.unit_of_work import unit_of_work
from laborcoop.contracts.identifiers import make_resident_id
from laborcoop.gateway.app import create_app as create_gateway
from laborcoop.gateway.forwarding import ForwardingRoute
from laborcoop.gateway.identity.domain import parse_roles
from laborcoop.gateway.identity.keys import SigningKeys, new_key_entry
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

pytestmark = pytest.mark.timeout(300)

HUNAN, GUANGDONG, YUNNAN = "430000", "440000", "530000"
KID: Final = "matrix-1"
STREAM_S: Final = 0.3
"""How long an event stream lasts here: its answer is complete, and its status read, then."""

REAL: Final = ("own", "other", "ministry", "observer")
FORGED: Final = ("no token", "expired", "unknown key", "alg none", "HS256 with the public key")
"""Callers with no valid token: 401 wherever a token is needed."""


# -- the table ---------------------------------------------------------------------------------

Body = Callable[["World"], Any]


@dataclass(frozen=True)
class Row:
    """One route: its method and template (the gateway's, or the owner's for a forwarded one),
    whose records it names (``owner``: a province of the world), and the status each real caller
    gets — own, other province, ministry, observer. ``public``: the status every caller gets,
    token or not."""

    method: str
    path: str
    owner: str = HUNAN
    expect: tuple[int, int, int, int] = (200, 200, 200, 200)
    body: Body | None = None
    public: int | None = None
    if_match: bool = False
    ids: Mapping[str, str] = field(default_factory=dict)
    """Path parameters naming another record of the world than the default one."""
    ndjson: bool = False

    @property
    def route(self) -> str:
        return f"{self.method} {self.path}"


DRAFT: Final = {"agreement_id": "draft"}


def brand(world: "World") -> dict[str, Any]:
    return {"name": f"矩阵品牌{uuid4().hex[:8]}", "province": HUNAN, "category": "skilled_trades"}


def today(world: "World") -> str:
    return world.today


ROWS: Final[list[Row]] = [
    # the probes, metrics, documents and identity: no token needed
    Row("GET", "/healthz", public=200),
    Row("GET", "/readyz", public=200),
    Row("GET", "/metrics", public=200),
    Row("GET", "/openapi.json", public=200),
    Row("GET", "/docs", public=200),
    Row("GET", "/docs/oauth2-redirect", public=200),
    Row("GET", "/redoc", public=200),
    Row("GET", "/.well-known/jwks.json", public=200),
    Row("POST", "/v1/oauth/token", public=401),  # a bearer token is no client credential
    # the views                                     own  other  ministry  observer
    Row("GET", "/v1/brands", expect=(200, 200, 200, 200)),
    Row("GET", "/v1/agreements", expect=(200, 200, 200, 403)),
    Row("GET", "/v1/demands", owner=GUANGDONG, expect=(200, 200, 200, 403)),
    Row("GET", "/v1/placements", expect=(200, 200, 403, 403)),
    Row("GET", "/v1/provinces", expect=(200, 200, 200, 403)),
    Row("GET", "/v1/provinces/{code}/overview", expect=(200, 200, 200, 403)),
    Row("GET", "/v1/corridors", expect=(200, 200, 200, 403)),
    Row("GET", "/v1/brands/{brand_id}/impact", expect=(200, 200, 200, 403)),
    Row("GET", "/v1/national/overview", expect=(200, 200, 200, 200)),
    Row("GET", "/v1/events/stream", expect=(200, 200, 200, 403)),  # ends after STREAM_S
    # the registry, forwarded
    Row("POST", "/v1/brands", expect=(201, 403, 403, 403), body=brand),
    Row("GET", "/v1/brands/{brand_id}", expect=(200, 200, 200, 200)),
    Row(
        "PATCH",
        "/v1/brands/{brand_id}",
        expect=(200, 403, 403, 403),
        body=lambda w: {"development_stage": "growth"},
        if_match=True,
    ),
    Row(
        "PUT",
        "/v1/brands/{brand_id}/indicators/{period}",
        expect=(201, 403, 403, 403),  # 201: a correction is a new revision
        body=lambda w: {"practitioners": 16000, "labour_income_yuan": 1_700_000_000},
    ),
    Row("GET", "/v1/brands/{brand_id}/indicators", expect=(200, 200, 200, 200)),
    Row("GET", "/v1/brands/{brand_id}/indicators/{period}", expect=(200, 200, 200, 200)),
    Row("GET", "/v1/brands/{brand_id}/history", expect=(200, 200, 200, 200)),
    Row(
        "POST",
        "/v1/brands/{brand_id}/recognition",
        expect=(200, 403, 403, 403),  # the ministry recognises at national level only
        body=lambda w: {"level": "province"},
        ids={"brand_id": "spare_brand"},
    ),
    Row(
        "POST",
        "/v1/brands/{brand_id}/suspension",
        expect=(409, 403, 200, 403),  # own 409: the ministry, which may, suspended it just before
        body=lambda w: {"reason": "投诉核查中"},
        ids={"brand_id": "spare_brand"},
    ),
    Row(
        "POST",
        "/v1/brands/{brand_id}/reinstatement",
        expect=(409, 403, 200, 403),  # own 409: the ministry lifted its suspension just before
        body=lambda w: {},
        ids={"brand_id": "spare_brand"},
    ),
    Row(
        "POST",
        "/v1/brands/{brand_id}/retirement",
        expect=(409, 403, 200, 403),  # own 409: the ministry retired it just before
        body=lambda w: {"reason": "品牌运营主体注销"},
        ids={"brand_id": "spare_brand"},
    ),
    # the agreements service, forwarded
    # other 422: 云南 cannot initiate an agreement it is no party to
    Row("POST", "/v1/agreements", expect=(201, 422, 403, 403), body=lambda w: w.terms()),
    # an agreement in force is shown to every caller (a draft only to its initiator)
    Row("GET", "/v1/agreements/{agreement_id}", expect=(200, 200, 200, 200)),
    Row("GET", "/v1/agreements/{agreement_id}/history", expect=(200, 200, 200, 200)),
    Row("GET", "/v1/agreements/{agreement_id}", expect=(200, 404, 404, 404), ids=DRAFT),
    Row(
        "PUT",
        "/v1/agreements/{agreement_id}",
        expect=(200, 404, 403, 403),
        body=lambda w: w.terms(),
        if_match=True,
        ids={"agreement_id": "draft"},
    ),
    Row(
        "POST",
        "/v1/agreements/{agreement_id}/proposal",
        expect=(200, 404, 404, 404),
        body=lambda w: {},
        ids={"agreement_id": "draft"},
    ),
    Row(
        "POST",
        "/v1/agreements/{agreement_id}/declines",
        owner=GUANGDONG,
        expect=(200, 404, 404, 404),
        body=lambda w: {"province": GUANGDONG, "reason": "条款需再议"},
        ids={"agreement_id": "draft"},
    ),
    Row(
        "POST",
        "/v1/agreements/{agreement_id}/signatures",
        owner=GUANGDONG,
        expect=(409, 403, 403, 403),  # own 409: signed already
        body=lambda w: {"province": GUANGDONG},
    ),
    Row(
        "POST",
        "/v1/agreements/{agreement_id}/amendments",
        expect=(200, 403, 403, 403),
        body=lambda w: w.terms(linked=True),
    ),
    Row(
        "POST",
        "/v1/agreements/{agreement_id}/termination",
        expect=(200, 403, 403, 403),
        body=lambda w: {"reason": "协作期满前提前终止"},
        ids={"agreement_id": "spare_agreement"},
    ),
    # the placements service, forwarded: workers
    # other 422: a 湖南 ID number is not 云南's to register; the import rejects its line
    Row("POST", "/v1/workers", expect=(201, 422, 403, 403), body=lambda w: w.worker()),
    Row("GET", "/v1/workers", expect=(200, 200, 403, 403)),
    Row("POST", "/v1/workers:import", expect=(200, 200, 403, 403), ndjson=True),
    Row("GET", "/v1/workers/{worker_id}", expect=(200, 404, 403, 403)),
    Row(
        "PATCH",
        "/v1/workers/{worker_id}",
        expect=(200, 404, 403, 403),
        body=lambda w: {"education": "college"},
        if_match=True,
    ),
    Row(
        "POST",
        "/v1/workers/{worker_id}/availability",
        expect=(200, 404, 403, 403),
        body=lambda w: {"available": True},
    ),
    Row(
        "POST",
        "/v1/workers/{worker_id}/consents",
        expect=(200, 404, 403, 403),
        body=lambda w: {"province": YUNNAN, "scope": "identity"},
    ),
    Row(
        "POST",
        "/v1/workers/{worker_id}/consent-withdrawals",
        expect=(200, 404, 403, 403),
        body=lambda w: {"province": YUNNAN, "scope": "identity"},
    ),
    Row("GET", "/v1/workers/{worker_id}/reads", expect=(200, 404, 403, 403)),
    Row("GET", "/v1/workers/{worker_id}/history", expect=(200, 404, 403, 403)),
    Row("GET", "/v1/workers/{worker_id}/matches", expect=(200, 404, 403, 403)),
    # demands
    Row(
        "POST",
        "/v1/demands",
        owner=GUANGDONG,
        expect=(201, 422, 403, 403),  # other 422: a 广州 workplace is not in 云南
        body=lambda w: w.demand(),
    ),
    # a demand (an employer's offer, no personal data) is shown to every caller
    Row("GET", "/v1/demands/{demand_id}", owner=GUANGDONG, expect=(200, 200, 200, 200)),
    Row("GET", "/v1/demands/{demand_id}/history", owner=GUANGDONG, expect=(200, 200, 200, 200)),
    Row("GET", "/v1/demands/{demand_id}/matches", owner=GUANGDONG, expect=(200, 403, 403, 403)),
    # placements
    Row(
        "POST",
        "/v1/placements",
        owner=GUANGDONG,
        expect=(201, 403, 403, 403),
        body=lambda w: {"worker_id": w.ids["spare_worker"], "demand_id": w.ids["demand_id"]},
    ),
    Row("GET", "/v1/placements/{placement_id}", expect=(200, 404, 403, 403)),
    Row("GET", "/v1/placements/{placement_id}/history", expect=(200, 404, 403, 403)),
    Row(
        "POST",
        "/v1/placements/{placement_id}/declines",
        expect=(200, 404, 403, 403),
        body=lambda w: {"reason": "劳动者本人另有安排"},
        ids={"placement_id": "spare_placement"},
    ),
    Row(
        "POST",
        "/v1/placements/{placement_id}/acceptance",
        expect=(200, 404, 403, 403),
        body=lambda w: {},
    ),
    Row(
        "POST",
        "/v1/placements/{placement_id}/onboarding",
        owner=GUANGDONG,
        expect=(200, 404, 403, 403),
        body=lambda w: {"on": w.today},
    ),
    Row(
        "POST",
        "/v1/placements/{placement_id}/milestones",
        owner=GUANGDONG,
        expect=(422, 404, 403, 403),  # three months on the job cannot have passed today
        body=lambda w: {"months": 3, "on": w.today},
    ),
    Row(
        "POST",
        "/v1/placements/{placement_id}/completion",
        owner=GUANGDONG,
        expect=(200, 404, 403, 403),
        body=lambda w: {"on": w.today},
    ),
    Row(
        "POST",
        "/v1/placements/{placement_id}/return",
        expect=(200, 404, 403, 403),
        body=lambda w: {"on": w.today, "follow_up": "local_job"},
    ),
    Row(
        "POST",
        "/v1/placements/{placement_id}/termination",
        owner=GUANGDONG,
        expect=(409, 404, 403, 403),  # it has ended already
        body=lambda w: {"reason": "用工单位经营调整"},
    ),
    Row(
        "POST",
        "/v1/demands/{demand_id}/closure",
        owner=GUANGDONG,
        expect=(200, 403, 403, 403),
        body=lambda w: {"reason": "岗位已由本地招聘补足"},
    ),
]

SUBSCRIPTION: Final = "/v1/subscriptions/{subscription_id}"
HOOK: Final = "https://1.1.1.1/laborcoop/webhooks"  # public, and no name to resolve

ROWS.extend(
    [
        # the gateway's webhook subscriptions: a client's own (the world's is 湖南's client's)
        Row("POST", "/v1/subscriptions", expect=(201, 201, 201, 403), body=lambda w: {"url": HOOK}),
        Row("GET", "/v1/subscriptions", expect=(200, 200, 200, 403)),
        Row("GET", SUBSCRIPTION, expect=(200, 404, 404, 403)),
        Row(
            "PATCH",
            SUBSCRIPTION,
            expect=(200, 404, 404, 403),
            body=lambda w: {"types": []},
            if_match=True,
        ),
        Row("POST", SUBSCRIPTION + "/pause", expect=(200, 404, 404, 403)),
        Row("POST", SUBSCRIPTION + "/resume", expect=(200, 404, 404, 403)),
        Row("POST", SUBSCRIPTION + "/secret-rotations", expect=(200, 404, 404, 403)),
        Row("GET", SUBSCRIPTION + "/deliveries", expect=(200, 404, 404, 403)),
        # the delivery named is none of the subscription's: 404 to its owner too, as to everyone
        # who may not see the subscription
        Row(
            "GET", SUBSCRIPTION + "/deliveries/{delivery_id}/attempts", expect=(404, 404, 404, 403)
        ),
        Row("POST", SUBSCRIPTION + "/pings", expect=(200, 404, 404, 403)),
        Row(
            "POST",
            SUBSCRIPTION + "/replays",
            expect=(202, 404, 404, 403),
            body=lambda w: {"since": "2020-01-01T00:00:00Z"},
        ),
        Row("DELETE", SUBSCRIPTION, expect=(204, 404, 404, 403)),
    ]
)

LISTS: Final[Mapping[str, Callable[[dict[str, Any], str], bool]]] = {
    "/v1/agreements": lambda item, me: me in {p["province"] for p in item["terms"]["parties"]},
    "/v1/demands": lambda item, me: item["province"] == me,
    "/v1/placements": lambda item, me: me in {item["origin"], item["destination"]},
    "/v1/workers": lambda item, me: item["origin"] == me,
}
"""The lists of records (path → whether an item may be shown to province ``me``)."""


# -- tokens ------------------------------------------------------------------------------------


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def by_hand(header: dict[str, Any], claims: dict[str, Any], sign: Callable[[bytes], bytes]) -> str:
    """A compact JWS made here, byte by byte: ``header.claims.signature``."""
    signed = f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(claims).encode())}"
    return f"{signed}.{b64url(sign(signed.encode('ascii')))}"


def forged_tokens(keys: SigningKeys, client_id: str) -> dict[str, dict[str, str]]:
    """The four tokens no route may accept, each wrong in one way only (the claims of a 湖南
    province token, which is otherwise valid)."""
    now = int(time.time())
    claims = {
        "iss": "laborcoop",
        "aud": "laborcoop",
        "sub": client_id,
        "client_id": client_id,
        "province": HUNAN,
        "roles": ["province"],
        "jti": str(uuid4()),
        "iat": now,
        "exp": now + 600,
    }
    ours = keys.signer.private_key
    public_pem = ours.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    eddsa = {"alg": "EdDSA", "typ": "JWT", "kid": KID}
    tokens = {
        "expired": by_hand(eddsa, {**claims, "iat": now - 1200, "exp": now - 600}, ours.sign),
        "unknown key": by_hand(
            {**eddsa, "kid": "not-published"}, claims, Ed25519PrivateKey.generate().sign
        ),
        "alg none": by_hand({"alg": "none", "typ": "JWT", "kid": KID}, claims, lambda _: b""),
        "HS256 with the public key": by_hand(
            {"alg": "HS256", "typ": "JWT", "kid": KID},
            claims,
            lambda signed: hmac.new(public_pem, signed, hashlib.sha256).digest(),
        ),
    }
    return {"no token": {}} | {k: {"Authorization": f"Bearer {v}"} for k, v in tokens.items()}


# -- the world ---------------------------------------------------------------------------------


@dataclass
class World:
    """The records the rows name, and the callers' headers."""

    client: httpx.AsyncClient
    bearers: dict[str, dict[str, str]]
    """Province code, "ministry" or "observer" → its ``Authorization`` header."""
    today: str
    ids: dict[str, str] = field(default_factory=dict)
    workers: int = 0

    async def call(
        self, method: str, path: str, who: str, body: Any = None, **headers: str
    ) -> httpx.Response:
        return await self.client.request(
            method, path, json=body, headers={**self.bearers[who], **headers}
        )

    async def made(self, method: str, path: str, who: str, body: Any, status: int = 201) -> str:
        """Send until the answer is ``status`` (the owner's copy of another's data follows
        events); the id of what it made."""

        async def sent() -> str | None:
            answer = await self.call(method, path, who, body)
            return str(answer.json()["id"]) if answer.status_code == status else None

        return await eventually(sent)

    def terms(self, *, linked: bool = False) -> dict[str, Any]:
        year = self.today[:4]
        return {
            "title": f"湘粤劳务协作{uuid4().hex[:6]}",
            "kind": "bilateral",
            "areas": ["job_matching"],
            "parties": [
                {"province": HUNAN, "role": "sending"},
                {"province": GUANGDONG, "role": "receiving"},
            ],
            "targets": [
                {
                    "period": year,
                    "origin": HUNAN,
                    "destination": GUANGDONG,
                    "workers_transferred": 9,
                }
            ],
            "linked_brands": [self.ids["brand_id"]] if linked else [],
            "effective_from": f"{year}-01-01",
            "effective_to": f"{int(year) + 2}-12-31",
        }

    def worker(self) -> dict[str, Any]:
        self.workers += 1
        body = {
            "name": f"李湘{'一二三四五六七八九十'[self.workers % 10]}",
            "resident_id": make_resident_id("430923", datetime(1990, 1, 1).date(), self.workers),
            "phone": f"139{self.workers:08d}",
            "education": "vocational",
            "occupations": ["4-03-02-09"],
        }
        WATCH.remember(HUNAN, *(str(body[f]) for f in ("name", "resident_id", "phone")))
        return body

    def demand(self) -> dict[str, Any]:
        return {
            "employer_name": "广州某茶饮连锁有限公司",
            "employer_credit_code": "91350100M000100Y43",
            "occupation": "4-03-02-09",
            "headcount": 5,
            "wage_min": 6000,
            "wage_max": 9000,
            "city_code": "440106",
            "start_date": self.today,
        }

    def path(self, row: Row) -> str:
        values = {"code": HUNAN, "period": "2024", **self.ids}
        named = {name: self.ids[record] for name, record in row.ids.items()}
        return row.path.format(**{**values, **named})


async def build(world: World) -> None:
    """湖南's brands and worker, an active 湖南–广东 agreement and a draft one, 广东's demand and
    a placement on it proposed for each of two 湖南 workers."""
    w = world
    w.ids["brand_id"] = await w.made("POST", "/v1/brands", HUNAN, brand(w))
    w.ids["spare_brand"] = await w.made("POST", "/v1/brands", HUNAN, brand(w))
    report = {"practitioners": 15000, "labour_income_yuan": 1_600_000_000}
    put = await w.call("PUT", f"/v1/brands/{w.ids['brand_id']}/indicators/2024", HUNAN, report)
    assert put.status_code == 201, put.text
    for name in ("agreement_id", "spare_agreement"):
        made = await w.made("POST", "/v1/agreements", HUNAN, w.terms(linked=True))
        w.ids[name] = made
        for who, verb, body in [
            (HUNAN, "proposal", {}),
            (HUNAN, "signatures", {"province": HUNAN}),
            (GUANGDONG, "signatures", {"province": GUANGDONG}),
        ]:
            answer = await w.call("POST", f"/v1/agreements/{made}/{verb}", who, body)
            assert answer.status_code == 200, answer.text
    w.ids["draft"] = await w.made("POST", "/v1/agreements", HUNAN, w.terms())
    w.ids["demand_id"] = await w.made("POST", "/v1/demands", GUANGDONG, w.demand())
    w.ids["subscription_id"] = await w.made("POST", "/v1/subscriptions", HUNAN, {"url": HOOK})
    w.ids["delivery_id"] = str(2**62)  # no delivery has this id (its deliveries count from 1)
    for name in ("worker_id", "placed_worker", "spare_worker"):
        w.ids[name] = await w.made("POST", "/v1/workers", HUNAN, w.worker())
    consent = {"province": GUANGDONG, "scope": "identity"}
    answer = await w.call("POST", f"/v1/workers/{w.ids['worker_id']}/consents", HUNAN, consent)
    assert answer.status_code == 200, answer.text
    for worker, placement in [("worker_id", "placement_id"), ("placed_worker", "spare_placement")]:
        body = {"worker_id": w.ids[worker], "demand_id": w.ids["demand_id"]}
        w.ids[placement] = await w.made("POST", "/v1/placements", GUANGDONG, body)


# -- the apps ----------------------------------------------------------------------------------


@dataclass
class Apps:
    gateway: FastAPI
    owners: dict[str, FastAPI]
    world: World
    forged: dict[str, dict[str, str]]


async def token_of(
    gateway: FastAPI, client: httpx.AsyncClient, province: str | None, role: str
) -> str:
    """A client registered as ``clients create`` does, and the token it gets."""
    uses = state_of(gateway).use_cases
    assert isinstance(uses, GatewayUses)
    async with unit_of_work(state_of(gateway).pool, state_of(gateway).settings) as uow:
        made = uses.identity.create(
            uow, name=f"{role} {province or ''}", province=province, roles=parse_roles([role])
        )
    answer = await client.post(
        "/v1/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(str(made.client.id), made.secret),
    )
    assert answer.status_code == 200, answer.text
    token: str = answer.json()["access_token"]
    return token


@pytest.fixture
async def apps(fresh_apps: FreshApps) -> AsyncIterator[Apps]:
    entry = new_key_entry(KID)
    gateway_settings = await fresh_apps.settings(
        GatewaySettings,
        "laborcoop.gateway.migrations",
        token_signing_keys=entry,
        client_rate_burst=10_000,  # the matrix sends far more than a client's burst
        stream_max_lifetime_s=STREAM_S,
    )
    keys = SigningKeys.parse(entry, None, issuer="laborcoop", audience="laborcoop")
    published = keys.key_set()  # what the services load from the gateway's key set
    quick = {"scheduler_interval_s": 0.5}
    owners = {
        "registry": create_registry(
            await fresh_apps.settings(RegistrySettings, "laborcoop.registry.migrations"),
            keys=published,
        ),
        "agreements": create_agreements(
            await fresh_apps.settings(
                AgreementsSettings, "laborcoop.agreements.migrations", **quick
            ),
            keys=published,
        ),
        "placements": create_placements(
            await fresh_apps.settings(
                PlacementsSettings,
                "laborcoop.placements.migrations",
                **quick,
                **key_settings(Keyring.generate()),
            ),
            keys=published,
        ),
    }
    gateway = create_gateway(
        gateway_settings,
        transports={name: httpx.ASGITransport(app=app) for name, app in owners.items()},
    )
    async with (
        running(owners["registry"]),
        running(owners["agreements"]),
        running(owners["placements"]),
        running(gateway) as client,
    ):
        callers = [(HUNAN, "province"), (GUANGDONG, "province"), (YUNNAN, "province")]
        bearers = {code: await token_of(gateway, client, code, role) for code, role in callers} | {
            "ministry": await token_of(gateway, client, None, "ministry"),
            "observer": await token_of(gateway, client, None, "observer"),
        }
        headers = {who: {"Authorization": f"Bearer {token}"} for who, token in bearers.items()}
        today = datetime.now(ZoneInfo(gateway_settings.timezone)).date().isoformat()
        world = World(client, headers, today)
        await build(world)
        hunan_client = jwt_subject(bearers[HUNAN])
        yield Apps(gateway, owners, world, forged_tokens(keys, hunan_client))


def jwt_subject(token: str) -> str:
    claims = token.split(".")[1]
    subject: str = json.loads(base64.urlsafe_b64decode(claims + "=" * (-len(claims) % 4)))["sub"]
    return subject


# -- the routes --------------------------------------------------------------------------------


def _concrete(template: str) -> str:
    """A path the template matches (every parameter a UUID-looking segment)."""
    parts = template.replace("{", "\0{").split("\0")
    return "".join(
        "00000000-0000-4000-8000-000000000000" + p[p.index("}") + 1 :] if p.startswith("{") else p
        for p in parts
    )


def served_routes(gateway: FastAPI, owners: Mapping[str, FastAPI]) -> set[str]:
    """``METHOD template`` of every route of the gateway but the forwarding ones, and of every
    owner's route the gateway forwards (its first route for that method and path forwards)."""
    routes = list(routes_in_order(gateway.router.routes))
    found: set[str] = set()
    for route in routes:
        if isinstance(route, Route) and not isinstance(route, ForwardingRoute):
            found |= {f"{m} {route.path}" for m in route.methods or () if m != "HEAD"}
    reached: set[str] = set()
    for owner in owners.values():
        for route in routes_in_order(owner.router.routes):
            if not isinstance(route, APIRoute) or not route.path.startswith("/v1/"):
                continue
            for method in route.methods or ():
                concrete = _concrete(route.path)
                first = next(
                    r
                    for r in routes
                    if isinstance(r, Route)
                    and r.path_regex.match(concrete)
                    and method in (r.methods or ())
                )
                if isinstance(first, ForwardingRoute):
                    found.add(f"{method} {route.path}")
                    reached.add(first.path)
    forwarding = {r.path for r in routes if isinstance(r, ForwardingRoute)}
    assert reached == forwarding, (
        f"forwarding routes no owner route reaches: {forwarding - reached}"
    )
    return found


# -- the test ----------------------------------------------------------------------------------


async def test_every_route_answers_every_caller_as_the_table_says(apps: Apps) -> None:
    served, tabled = served_routes(apps.gateway, apps.owners), {row.route for row in ROWS}
    wrong = [f"{route}: no row" for route in sorted(served - tabled)]
    wrong += [f"{route}: no such route" for route in sorted(tabled - served)]

    world = apps.world
    for row in ROWS:
        for who, expected, answer in await run(world, apps.forged, row):
            if answer.status_code >= 500 or answer.status_code != expected:
                wrong.append(f"{row.route} as {who}: {answer.status_code}, not {expected}")
                wrong.append(f"    {answer.text[:300]}")
    assert not wrong, "\n" + "\n".join(wrong)


async def run(
    world: World, forged: dict[str, dict[str, str]], row: Row
) -> list[tuple[str, int, httpx.Response]]:
    """Every caller of ``row``, ``own`` last: (caller, expected status, answer)."""
    other = {HUNAN: YUNNAN, GUANGDONG: YUNNAN}[row.owner]
    real = dict(zip(REAL, row.expect, strict=True))
    as_whom = {"other": other, "ministry": "ministry", "observer": "observer", "own": row.owner}
    done: list[tuple[str, int, httpx.Response]] = []
    for who in ("other", "ministry", "observer", *FORGED, "own"):
        headers = forged.get(who) if who in FORGED else world.bearers[as_whom[who]]
        assert headers is not None
        expected = row.public if row.public is not None else real.get(who, 401)
        try:
            answer = await send(world, row, dict(headers))
        except Exception as exc:  # what the server would answer 500: a cell to report
            answer = httpx.Response(500, text=f"raised {exc!r}")
        done.append((who, expected, answer))
    return done


async def send(world: World, row: Row, headers: dict[str, str]) -> httpx.Response:
    path = world.path(row)
    if row.if_match:
        current = await world.call("GET", path, row.owner)
        assert current.status_code == 200, current.text
        headers["If-Match"] = current.headers["etag"]
    if row.ndjson:
        lines = "".join(json.dumps(world.worker()) + "\n" for _ in range(1))
        headers["Content-Type"] = "application/x-ndjson"
        return await world.client.request(row.method, path, content=lines, headers=headers)
    if row.path == "/v1/oauth/token":
        return await world.client.post(
            path, data={"grant_type": "client_credentials"}, headers=headers
        )
    body = row.body(world) if row.body is not None else None
    return await world.client.request(row.method, path, json=body, headers=headers)


async def test_the_lists_show_a_province_only_its_records_and_at_most_200(apps: Apps) -> None:
    world = apps.world
    shown: dict[tuple[str, str], int] = {}
    for path, may_see in LISTS.items():
        for province in (HUNAN, GUANGDONG, YUNNAN):
            answer = await world.call("GET", f"{path}?limit=200", province)
            assert answer.status_code == 200, answer.text
            items = answer.json()["items"]
            foreign = [item for item in items if not may_see(item, province)]
            assert not foreign, (path, province, foreign)
            shown[(path, province)] = len(items)
    # the lists do show records, so the check above checked something
    assert shown[("/v1/workers", HUNAN)] == 3
    assert shown[("/v1/demands", GUANGDONG)] == 1
    assert shown[("/v1/workers", GUANGDONG)] == shown[("/v1/workers", YUNNAN)] == 0
    assert shown[("/v1/demands", HUNAN)] == 0

    paged = paged_routes(apps.gateway, apps.owners)
    assert {"GET /v1/brands", "GET /v1/workers", "GET /v1/subscriptions"} <= paged
    for row in ROWS:
        if row.route not in paged or row.ids:
            continue
        path = world.path(row)
        refused = await world.call("GET", f"{path}?limit=201", row.owner)
        assert refused.status_code == 422, (path, refused.text)
        assert [e["field"] for e in refused.json()["errors"]] == ["limit"], path
        one = await world.call("GET", f"{path}?limit=1", row.owner)  # some cap lower (matches)
        assert one.status_code == 200, (path, one.text)
        paged.discard(row.route)
    assert not paged, f"lists without a row to check them by: {paged}"


def paged_routes(gateway: FastAPI, owners: Mapping[str, FastAPI]) -> set[str]:
    """``GET template`` of every list the gateway serves or forwards: a route that takes
    ``limit``."""
    served = served_routes(gateway, owners)
    apps = [gateway, *owners.values()]
    return {
        f"GET {route.path}"
        for app in apps
        for route in routes_in_order(app.router.routes)
        if isinstance(route, APIRoute)
        and "GET" in (route.methods or ())
        and any(param.name == "limit" for param in route.dependant.query_params)
        and f"GET {route.path}" in served
    }
