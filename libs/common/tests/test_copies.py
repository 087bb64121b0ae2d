"""A copy of another service's aggregate, kept from its events, against the real database.

Events are applied the way the consumer runner applies them (the subscription's handler for the
event's type, bound to the event), without Kafka: ordering and redelivery are what is shown here;
the runner's own guarantees are in test_consumer.py."""

from collections.abc import AsyncIterator
from typing import Any
from uuid import UUID, uuid4

import pytest

from laborcoop.common.consumer import Subscription
from laborcoop.common.copies import CopyOf
from laborcoop.common.db import Connection, connect
from laborcoop.contracts import topics
from laborcoop.contracts.agreements import AgreementDrafted
from laborcoop.contracts.brands import (
    BRAND_COLUMNS,
    BrandIndicatorsReported,
    BrandRecognised,
    BrandRegistered,
    BrandReinstated,
    BrandRetired,
    BrandSuspended,
    BrandUpdated,
    IndicatorFigures,
    brand_columns,
)
from laborcoop.contracts.codes import BrandCategory, BrandLevel, BrandStatus
from laborcoop.contracts.envelope import CloudEvent
from laborcoop.contracts.events import EventPayload, all_specs, new_event
from laborcoop.testing.databases import Databases

HUBEI = "420000"

VIEW = CopyOf(
    table="brand_view",
    key="brand_id",
    topic=topics.BRANDS,
    created=BrandRegistered,
    keeps=("name", "province", "category", "status", "level"),
    columns=brand_columns,
    known=BRAND_COLUMNS,
)
NARROW = CopyOf(
    table="brand_copy",
    key="brand_id",
    topic=topics.BRANDS,
    created=BrandRegistered,
    keeps=("name", "status"),
    columns=brand_columns,
    known=BRAND_COLUMNS,
)


@pytest.fixture
async def conn(databases: Databases) -> AsyncIterator[Connection]:
    connection = await connect(await databases.fresh())
    await connection.execute(
        """CREATE TABLE brand_view (
               brand_id uuid PRIMARY KEY, name text NOT NULL, province char(6) NOT NULL,
               category text NOT NULL, status text NOT NULL, level text,
               version integer NOT NULL, updated_at timestamptz NOT NULL);
           CREATE TABLE brand_copy (
               brand_id uuid PRIMARY KEY, name text NOT NULL, status text NOT NULL,
               version integer NOT NULL, updated_at timestamptz NOT NULL)"""
    )
    try:
        yield connection
    finally:
        await connection.close()


def examples(brand: UUID) -> dict[type[EventPayload], EventPayload]:
    """One payload of each type of the brands topic, in the order a brand may live them."""
    registered = BrandRegistered(
        brand_id=brand, name="潜江龙虾工", province=HUBEI, category=BrandCategory.SKILLED_TRADES
    )
    updated = BrandUpdated.model_validate(
        {**registered.model_dump(), "name": "潜江小龙虾厨师", "changed": ("name",)}
    )
    return {
        BrandRegistered: registered,
        BrandRecognised: BrandRecognised(
            brand_id=brand, level=BrandLevel.PROVINCE, recognised_by="province"
        ),
        BrandUpdated: updated,
        BrandSuspended: BrandSuspended(brand_id=brand, reason="核查", suspended_by="ministry"),
        BrandReinstated: BrandReinstated(
            brand_id=brand, status=BrandStatus.RECOGNISED, level=BrandLevel.CITY
        ),
        BrandIndicatorsReported: BrandIndicatorsReported(
            brand_id=brand,
            period="2024",
            figures=IndicatorFigures(practitioners=12000),
            revision=1,
            correction=False,
        ),
        BrandRetired: BrandRetired(brand_id=brand, reason="品牌整合"),
    }


def event(payload: EventPayload, version: int) -> CloudEvent:
    brand = payload.model_dump()["brand_id"]
    return new_event(payload, subject=str(brand), version=version, provinces=[HUBEI])


async def apply(subscription: Subscription, conn: Connection, *events: CloudEvent) -> None:
    """Each event as the runner applies it: its type's handler, in a transaction."""
    for each in events:
        async with conn.transaction():
            await subscription.handlers[each.type](each)(conn)


async def row(conn: Connection, table: str, brand: UUID) -> dict[str, Any]:
    record = await conn.fetchrow(f"SELECT * FROM {table} WHERE brand_id = $1", brand)
    assert record is not None
    return {k: v for k, v in dict(record).items() if k not in ("brand_id", "updated_at")}


async def test_registered_then_changed_in_order_gives_the_latest_state(conn: Connection) -> None:
    brand = uuid4()
    lived = [event(p, v) for v, p in enumerate(examples(brand).values(), start=1)]
    await apply(VIEW.subscription("g"), conn, *lived)
    assert await row(conn, "brand_view", brand) == {
        "name": "潜江小龙虾厨师",
        "province": HUBEI,
        "category": "skilled_trades",
        "status": "retired",
        "level": "city",
        "version": len(lived),
    }


async def test_a_newer_event_first_wins_and_the_older_is_ignored(conn: Connection) -> None:
    brand = uuid4()
    kinds = examples(brand)
    registered, recognised, retired = (
        event(kinds[BrandRegistered], 1),
        event(kinds[BrandRecognised], 2),
        event(kinds[BrandRetired], 3),
    )
    await apply(VIEW.subscription("g"), conn, registered, retired, recognised, registered)
    assert await row(conn, "brand_view", brand) == {
        "name": "潜江龙虾工",
        "province": HUBEI,
        "category": "skilled_trades",
        "status": "retired",
        "level": None,
        "version": 3,
    }


async def test_an_event_not_newer_than_the_copy_changes_nothing(conn: Connection) -> None:
    brand = uuid4()
    kinds = examples(brand)
    renamed = kinds[BrandUpdated].model_copy(update={"name": "再次改名"})
    subscription = VIEW.subscription("g")
    await apply(subscription, conn, event(kinds[BrandRegistered], 1), event(kinds[BrandUpdated], 2))
    await apply(subscription, conn, event(renamed, 2), event(renamed, 1))
    assert (await row(conn, "brand_view", brand))["name"] == "潜江小龙虾厨师"
    assert (await row(conn, "brand_view", brand))["version"] == 2


@pytest.mark.parametrize(
    "kind",
    [s.payload for s in all_specs() if s.topic == topics.BRANDS and s.payload != BrandRegistered],
    ids=lambda kind: kind.__name__,
)
async def test_every_event_type_advances_the_version(
    conn: Connection, kind: type[EventPayload]
) -> None:
    brand = uuid4()
    kinds = examples(brand)
    for copy, table in ((VIEW, "brand_view"), (NARROW, "brand_copy")):
        await apply(copy.subscription("g"), conn, event(kinds[BrandRegistered], 1))
        await apply(copy.subscription("g"), conn, event(kinds[kind], 2))
        assert (await row(conn, table, brand))["version"] == 2


async def test_a_copy_writes_only_the_columns_it_keeps(conn: Connection) -> None:
    brand = uuid4()
    lived = [event(p, v) for v, p in enumerate(examples(brand).values(), start=1)]
    await apply(NARROW.subscription("g"), conn, *lived)
    assert await row(conn, "brand_copy", brand) == {
        "name": "潜江小龙虾厨师",
        "status": "retired",
        "version": len(lived),
    }


def test_the_subscription_handles_every_type_of_the_topic() -> None:
    subscription = VIEW.subscription("gateway.projections")
    on_topic = {s.type for s in all_specs() if s.topic == topics.BRANDS}
    assert set(subscription.handlers) == on_topic
    assert subscription.group == "gateway.projections"
    assert list(subscription.topics) == [topics.BRANDS]


@pytest.mark.parametrize(
    ("changes", "refusal"),
    [
        ({"keeps": ("name", "colour")}, "no event sets columns ['colour']"),
        ({"keeps": ("name", "version")}, "set by the copy itself"),
        ({"keeps": ("name", "brand_id")}, "set by the copy itself"),
        ({"keeps": ("name", "name")}, "named twice"),
        ({"keeps": ("name; DROP TABLE brand_view",)}, "not plain SQL identifiers"),
        ({"table": "brand_view v"}, "not plain SQL identifiers"),
        ({"key": "Brand-Id"}, "not plain SQL identifiers"),
        ({"created": AgreementDrafted}, "AgreementDrafted is not an event type of"),
    ],
)
def test_a_wrong_declaration_is_refused_when_it_is_made(
    changes: dict[str, Any], refusal: str
) -> None:
    declaration: dict[str, Any] = {
        "table": "brand_view",
        "key": "brand_id",
        "topic": topics.BRANDS,
        "created": BrandRegistered,
        "keeps": ("name",),
        "columns": brand_columns,
        "known": BRAND_COLUMNS,
    }
    with pytest.raises(ValueError, match="copy") as refused:
        CopyOf(**{**declaration, **changes})
    assert refusal in str(refused.value)


async def test_a_mapping_giving_an_undeclared_name_fails_the_event(conn: Connection) -> None:
    def sloppy(payload: EventPayload) -> dict[str, Any]:
        return {**brand_columns(payload), "colour": "red"}

    copy = CopyOf(
        table="brand_view",
        key="brand_id",
        topic=topics.BRANDS,
        created=BrandRegistered,
        keeps=("name", "province", "category", "status"),
        columns=sloppy,
        known=BRAND_COLUMNS,
    )
    registered = event(examples(uuid4())[BrandRegistered], 1)
    with pytest.raises(ValueError, match="undeclared columns \\['colour'\\]"):
        await apply(copy.subscription("g"), conn, registered)
