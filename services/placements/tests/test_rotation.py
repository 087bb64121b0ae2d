"""Key rotation on the real database: workers sealed under k1 are re-sealed under k2 by
``rotate-keys`` while reads go on, every read succeeding; a start whose keys do not open what is
stored refuses to serve."""

import argparse
import asyncio
import base64
import os
from uuid import UUID

import httpx
import pytest

from laborcoop.common.clock import ManualClock
from laborcoop.common.db import Pool
from laborcoop.common.deps import state_of
from laborcoop.placements.app import create_app
from laborcoop.placements.cli import ROTATE_KEYS
from laborcoop.placements.protection import KEY_BYTES, KeyProblem, Keyring
from laborcoop.placements.settings import PlacementsSettings
from laborcoop.placements.workers.repository import WORKER_STORE, WORKERS
from laborcoop.placements.workers.rotation import rotate
from laborcoop.placements.workers.service import open_person
from laborcoop.testing import FreshApps, Stack, Tokens, settings_for
from laborcoop.testing.leaks import WATCH
from services.placements.tests.conftest import key_settings
from services.placements.tests.test_import import NDJSON, ndjson, person

HUNAN = "430000"
WORKERS_BEFORE = 40


async def _versions(pool: Pool) -> dict[str, int]:
    """Each worker's version, by id."""
    return {
        r["id"]: r["version"] for r in await pool.fetch("SELECT id::text, version FROM workers")
    }


def _restarted(stack: Stack, settings: PlacementsSettings, ring: Keyring) -> PlacementsSettings:
    """The same service (database, topics) started again with ``ring``."""
    return settings_for(
        PlacementsSettings,
        stack,
        database_url=settings.database_url.get_secret_value(),
        topic_prefix=settings.topic_prefix,
        run_workers=False,
        **key_settings(ring),
    )


async def _register_under_k1(client: httpx.AsyncClient, tokens: Tokens) -> dict[str, str]:
    """Workers registered by the first process (key k1): their ID numbers by worker id."""
    bodies = [person(100 + n) for n in range(WORKERS_BEFORE)]
    answer = await client.post(
        "/v1/workers:import",
        content=ndjson(*bodies),
        headers={**tokens.province(HUNAN), **NDJSON},
    )
    assert answer.json()["accepted"] == WORKERS_BEFORE, answer.text
    listed = await client.get("/v1/workers?limit=100", headers=tokens.province(HUNAN))
    ids = [w["id"] for w in listed.json()["items"]]
    shown = [await client.get(f"/v1/workers/{i}", headers=tokens.province(HUNAN)) for i in ids]
    return {w.json()["id"]: w.json()["resident_id"] for w in shown}


@pytest.fixture
async def registered(
    fresh_apps: FreshApps, settings: PlacementsSettings, clock: ManualClock, tokens: Tokens
) -> dict[str, str]:
    async with fresh_apps.running(create_app, settings, clock=clock) as (_, client):
        return await _register_under_k1(client, tokens)


async def test_rotation_while_reads_go_on(
    fresh_apps: FreshApps,
    stack: Stack,
    settings: PlacementsSettings,
    ring: Keyring,
    clock: ManualClock,
    tokens: Tokens,
    registered: dict[str, str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    both = Keyring(
        keys={"k1": ring.keys["k1"], "k2": os.urandom(KEY_BYTES)},
        current="k2",
        index_key=ring.index_key,
    )
    restarted = _restarted(stack, settings, both)
    hunan = tokens.province(HUNAN)
    async with fresh_apps.running(create_app, restarted, clock=clock) as (app, client):
        pool = state_of(app).pool
        versions = await _versions(pool)
        # New registrations are sealed under k2 at once.
        fresh = person(900)
        created = await client.post("/v1/workers", json=fresh, headers=hunan)
        assert created.status_code == 201, created.text
        rotating = asyncio.create_task(ROTATE_KEYS.run(restarted, argparse.Namespace(batch=7)))
        reads, seen_under = 0, set()
        while not rotating.done() or reads < len(registered):
            worker_id = list(registered)[reads % len(registered)]
            read = await client.get(f"/v1/workers/{worker_id}", headers=hunan)
            assert read.status_code == 200, read.text
            assert read.json()["resident_id"] == registered[worker_id]
            reads += 1
            if not rotating.done():
                sql = "SELECT sealed_with FROM workers WHERE id = $1"
                seen_under.add(await pool.fetchval(sql, UUID(worker_id)))
        await rotating
        assert seen_under == {"k1", "k2"}  # reads went on while rows moved from k1 to k2

        output = capsys.readouterr()
        assert f"{WORKERS_BEFORE} re-sealed under key k2; 0 left under old keys" in output.out
        assert f"{WORKERS_BEFORE}/{WORKERS_BEFORE} re-sealed" in output.err
        assert await pool.fetchval("SELECT count(*) FROM workers WHERE sealed_with = 'k1'") == 0
        rows = await pool.fetch(WORKER_STORE.select)
        k2_only = Keyring(keys={"k2": both.keys["k2"]}, current="k2", index_key=ring.index_key)
        opened = {str(r["id"]): open_person(k2_only, WORKERS.load(r)) for r in rows}
        assert {i: p.resident_id for i, p in opened.items() if i in registered} == registered
        assert await _versions(pool) == {
            **versions,
            created.json()["id"]: 1,
        }
    # The rotation left nothing under k1: the service now starts with k2 alone.
    async with fresh_apps.running(create_app, _restarted(stack, settings, k2_only)) as (_, c):
        again = await c.get(f"/v1/workers/{next(iter(registered))}", headers=hunan)
        assert again.json()["resident_id"] == next(iter(registered.values()))
    WATCH.remember(HUNAN, str(fresh["resident_id"]))


async def test_a_start_without_a_key_still_in_use_refuses(
    fresh_apps: FreshApps,
    stack: Stack,
    settings: PlacementsSettings,
    ring: Keyring,
    registered: dict[str, str],
) -> None:
    only_k2 = Keyring(keys={"k2": os.urandom(KEY_BYTES)}, current="k2", index_key=ring.index_key)
    with pytest.raises(KeyProblem, match="k1"):
        async with fresh_apps.running(create_app, _restarted(stack, settings, only_k2)):
            pytest.fail("the service served without the key of stored values")


async def test_a_start_with_a_wrong_key_refuses(
    fresh_apps: FreshApps,
    stack: Stack,
    settings: PlacementsSettings,
    ring: Keyring,
    registered: dict[str, str],
) -> None:
    wrong = Keyring(keys={"k1": os.urandom(KEY_BYTES)}, current="k1", index_key=ring.index_key)
    assert base64.b64encode(wrong.keys["k1"]) != base64.b64encode(ring.keys["k1"])
    with pytest.raises(KeyProblem, match=r"key k1 .* does not open"):
        async with fresh_apps.running(create_app, _restarted(stack, settings, wrong)):
            pytest.fail("the service served with a wrong key")


async def test_a_start_with_a_wrong_blind_index_key_refuses(
    fresh_apps: FreshApps,
    stack: Stack,
    settings: PlacementsSettings,
    ring: Keyring,
    registered: dict[str, str],
) -> None:
    """With another index key no duplicate would be found: one person registered twice."""
    wrong = Keyring(keys=ring.keys, current=ring.current, index_key=os.urandom(KEY_BYTES))
    with pytest.raises(KeyProblem, match="LABORCOOP_BLIND_INDEX_KEY"):
        async with fresh_apps.running(create_app, _restarted(stack, settings, wrong)):
            pytest.fail("the service served with a wrong blind-index key")


async def test_a_row_held_by_a_command_is_resealed_once_released(
    fresh_apps: FreshApps,
    stack: Stack,
    settings: PlacementsSettings,
    ring: Keyring,
    registered: dict[str, str],
) -> None:
    both = Keyring(
        keys={"k1": ring.keys["k1"], "k2": os.urandom(KEY_BYTES)},
        current="k2",
        index_key=ring.index_key,
    )
    async with fresh_apps.running(create_app, _restarted(stack, settings, both)) as (app, _):
        pool = state_of(app).pool
        held = UUID(next(iter(registered)))
        async with pool.acquire() as conn:
            transaction = conn.transaction()
            await transaction.start()
            await conn.execute("SELECT 1 FROM workers WHERE id = $1 FOR UPDATE", held)
            rotating = asyncio.create_task(rotate(pool, both, batch=10))
            await asyncio.sleep(0.5)
            assert not rotating.done()  # everything else re-sealed, that row waited for
            under = {
                r[0]: r[1]
                for r in await pool.fetch("SELECT sealed_with, count(*) FROM workers GROUP BY 1")
            }
            assert under == {"k1": 1, "k2": WORKERS_BEFORE - 1}
            await transaction.rollback()
        rotation = await rotating
        assert (rotation.resealed, rotation.left) == (WORKERS_BEFORE, 0)
