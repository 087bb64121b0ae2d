"""The demo clients of `make run` (development only): one per demo province and one for the
ministry, so that the closing message can show how a provincial system gets its token.

Their secrets are kept, in the clear, in a file of the local stack (mode 0600, beside its other
keys), since a secret is otherwise shown only once; a later `make run` reads the file and creates
only the clients that are missing, disabled or unknown to the database (a reset database).
Refused outside development.
"""

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final
from uuid import UUID

from laborcoop.common.db import Pool
from laborcoop.common.principal import Role
from laborcoop.common.settings import ServiceSettings
from laborcoop.common.unit_of_work import unit_of_work
from laborcoop.gateway.identity.repository import CLIENT_STORE
from laborcoop.gateway.identity.service import Identity


@dataclass(frozen=True)
class DemoClient:
    name: str
    province: str | None
    roles: tuple[Role, ...]


DEMO_CLIENTS: Final = (
    DemoClient("湖南省人社厅（演示）", "430000", (Role.PROVINCE,)),
    DemoClient("湖北省人社厅（演示）", "420000", (Role.PROVINCE,)),
    DemoClient("广东省人社厅（演示）", "440000", (Role.PROVINCE,)),
    DemoClient("上海市人社局（演示）", "310000", (Role.PROVINCE,)),
    DemoClient("浙江省人社厅（演示）", "330000", (Role.PROVINCE,)),
    DemoClient("云南省人社厅（演示）", "530000", (Role.PROVINCE,)),
    DemoClient("人力资源社会保障部（演示）", None, (Role.MINISTRY,)),
)


async def ensure_demo_clients(
    identity: Identity, pool: Pool, settings: ServiceSettings, path: Path
) -> list[dict[str, Any]]:
    """The demo clients with their secrets, created where the file and the database do not
    already agree on an active one; the file is rewritten when one was created."""
    if settings.environment != "development":
        raise SystemExit("demo-clients: development only")
    kept = {entry["name"]: entry for entry in _read(path)}
    entries: list[dict[str, Any]] = []
    created = False
    for demo in DEMO_CLIENTS:
        entry = kept.get(demo.name)
        if entry is None or not await _active(pool, entry["client_id"]):
            async with unit_of_work(pool, settings) as uow:
                made = identity.create(
                    uow, name=demo.name, province=demo.province, roles=demo.roles
                )
            entry = {
                "name": demo.name,
                "province": demo.province,
                "roles": list(demo.roles),
                "client_id": str(made.client.id),
                "client_secret": made.secret,
            }
            created = True
        entries.append(entry)
    if created:
        _write(path, entries)
    return entries


async def _active(pool: Pool, client_id: str) -> bool:
    async with pool.acquire() as conn:
        client = await CLIENT_STORE.get(conn, UUID(client_id))
    return client is not None and not client.disabled


def _read(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    entries: list[dict[str, Any]] = json.loads(path.read_text())
    return entries


def _write(path: Path, entries: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as out:
        json.dump(entries, out, ensure_ascii=False, indent=1)
    partial.replace(path)
