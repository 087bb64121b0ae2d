"""``laborcoop-gateway``: the common commands, the operators' ``clients`` and ``signing-key``,
and the development ``dev-keys``, ``dev-token`` and ``demo-clients``."""

import argparse
import json
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import asyncpg

from laborcoop.common import cli
from laborcoop.common.auth import TokenSigner
from laborcoop.common.problems import Problem
from laborcoop.common.spec import ServiceContext
from laborcoop.common.unit_of_work import UnitOfWork, unit_of_work
from laborcoop.gateway.app import SPEC
from laborcoop.gateway.identity.demo import ensure_demo_clients
from laborcoop.gateway.identity.domain import Client, parse_roles
from laborcoop.gateway.identity.keys import (
    DEV_KEY_FILE,
    DEV_KEY_ID,
    SigningKeyProblem,
    new_key_entry,
)
from laborcoop.gateway.settings import GatewaySettings
from laborcoop.gateway.subscriptions.secrets import new_key as new_webhook_key
from laborcoop.gateway.uses import GatewayUses
from laborcoop.gateway.views import rebuild

_PAGE = 200


async def dev_keys(settings: GatewaySettings, args: argparse.Namespace) -> None:
    """Create the local signing key beside ``LABORCOOP_JWKS_FILE`` (development only)."""
    if settings.jwks_file is None:
        raise SystemExit("set LABORCOOP_JWKS_FILE to where the key set should be written")
    write_dev_keys(settings.jwks_file)


def write_dev_keys(jwks_file: Path) -> None:
    private = jwks_file.with_name(DEV_KEY_FILE)
    if private.exists():
        return
    jwks_file.parent.mkdir(parents=True, exist_ok=True)
    signer = TokenSigner.generate(key_id=DEV_KEY_ID)
    private.write_bytes(signer.private_pem())
    private.chmod(0o600)
    jwks_file.write_text(json.dumps(signer.jwks()))


async def dev_token(settings: GatewaySettings, args: argparse.Namespace) -> None:
    """Print a token signed with the local development key."""
    if settings.environment == "production" or settings.jwks_file is None:
        raise SystemExit("dev-token works only in development with LABORCOOP_JWKS_FILE set")
    pem = settings.jwks_file.with_name(DEV_KEY_FILE).read_bytes()
    signer = TokenSigner.from_pem(
        pem, DEV_KEY_ID, issuer=settings.jwt_issuer, audience=settings.jwt_audience
    )
    roles = args.roles.split(",")
    province = args.province or None
    client = args.client or default_client(province, roles)
    print(signer.sign(client, province=province, roles=roles, ttl_s=args.ttl))


def default_client(province: str | None, roles: list[str]) -> str:
    """A subject naming the token's province and roles (``dev-430000-province``,
    ``dev-ministry``): clients are told apart by subject (idempotency keys, logs), so tokens
    for different callers must not share one."""
    return "-".join(["dev", *([province] if province else []), *roles])


def token_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--province", help="6-digit GB/T 2260 province code")
    parser.add_argument("--roles", default="province", help="comma-separated roles")
    parser.add_argument(
        "--client",
        help="client id (token subject); default dev-<province>-<roles>, e.g. dev-430000-province",
    )
    parser.add_argument("--ttl", type=int, default=8 * 3600, help="lifetime in seconds")


# -- clients ----------------------------------------------------------------------------------


async def clients(
    context: ServiceContext[GatewaySettings], uses: GatewayUses, args: argparse.Namespace
) -> None:
    """``clients create|list|rotate-secret|disable``. A secret is printed once, by the command
    that made it, after its hash was committed (stdout, one JSON object); nothing else prints or
    logs a secret or a hash."""
    try:
        if args.action == "list":
            await _list(context, uses)
            return
        async with unit_of_work(context.pool, context.settings) as uow:
            line = await _change(uow, context.settings, uses, args)
    except Problem as problem:
        raise SystemExit(f"clients {args.action}: {problem}") from None
    except asyncpg.UndefinedTableError:
        raise SystemExit(
            "clients: the gateway's database has no clients table: run `laborcoop-gateway "
            "migrate` first"
        ) from None
    _print(line)
    if "client_secret" in line:
        print(
            "clients: the secret is shown only now; keep it in the client's vault", file=sys.stderr
        )


async def _change(
    uow: UnitOfWork, settings: GatewaySettings, uses: GatewayUses, args: argparse.Namespace
) -> dict[str, Any]:
    """Create, rotate or disable; what to print once the change is committed."""
    identity = uses.identity
    if args.action == "create":
        roles = parse_roles([r.strip() for r in args.roles.split(",") if r.strip()])
        made = identity.create(uow, name=args.name, province=args.province or None, roles=roles)
        client = made.client
        return {
            "client_id": str(client.id),
            "client_secret": made.secret,
            "name": client.name,
            "province": client.province,
            "roles": list(client.roles),
        }
    if args.action == "rotate-secret":
        hours = args.grace_hours
        if hours is None:
            hours = settings.client_secret_grace_hours
        made = await identity.rotate_secret(uow, args.client_id, timedelta(hours=hours))
        return {
            "client_id": str(made.client.id),
            "client_secret": made.secret,
            "previous_secret_valid_until": _time(made.client.previous_secret_expires_at),
        }
    client = await identity.disable(uow, args.client_id)
    return {"client_id": str(client.id), "disabled_at": _time(client.disabled_at)}


async def _list(context: ServiceContext[GatewaySettings], uses: GatewayUses) -> None:
    after: UUID | None = None
    while True:
        async with context.pool.acquire() as conn:
            page = await uses.identity.clients(conn, after=after, limit=_PAGE)
        for client in page:
            _print(client_line(client))
        if len(page) < _PAGE:
            return
        after = page[-1].id


def client_line(client: Client) -> dict[str, Any]:
    """What ``clients list`` shows of a client: never its secret or a hash of it."""
    return {
        "client_id": str(client.id),
        "name": client.name,
        "province": client.province,
        "roles": list(client.roles),
        "status": "disabled" if client.disabled else "active",
        "created_at": _time(client.created_at),
        "updated_at": _time(client.updated_at),
        "disabled_at": _time(client.disabled_at),
        "previous_secret_valid_until": _time(client.previous_secret_expires_at),
    }


def _print(line: dict[str, Any]) -> None:
    print(json.dumps(line, ensure_ascii=False), flush=True)


def _time(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def client_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", required=True)
    create = actions.add_parser("create", help="create a client; prints its id and secret once")
    create.add_argument("--name", required=True, help="who the client is, e.g. 湖南省人社厅 HR")
    create.add_argument("--province", help="6-digit GB/T 2260 code (required for a province)")
    create.add_argument(
        "--roles", required=True, help="comma-separated: province, ministry, observer"
    )
    actions.add_parser("list", help="one JSON line per client (never a secret)")
    rotate = actions.add_parser(
        "rotate-secret", help="a new secret, printed once; the old one stays valid for a while"
    )
    rotate.add_argument("client_id", type=UUID)
    rotate.add_argument(
        "--grace-hours",
        type=float,
        help="how long the old secret stays valid (default LABORCOOP_CLIENT_SECRET_GRACE_HOURS; "
        "0: not at all)",
    )
    disable = actions.add_parser("disable", help="refuse the client any further token, at once")
    disable.add_argument("client_id", type=UUID)


async def demo_clients(
    context: ServiceContext[GatewaySettings], uses: GatewayUses, args: argparse.Namespace
) -> None:
    """Development: the demo clients of `make run`, made once and kept in ``--file``; prints
    each with its secret and a `curl` that gets a token."""
    path = Path(args.file)
    entries = await ensure_demo_clients(uses.identity, context.pool, context.settings, path)
    print(f"Demo clients (development only; secrets kept in {path}):")
    for entry in entries:
        who = entry["province"] or ",".join(entry["roles"])
        print(f"  {who:<8} {entry['client_id']}  {entry['client_secret']}  {entry['name']}")
    first = entries[0]
    print(
        "A token for the first:  curl -s -u "
        f"{first['client_id']}:{first['client_secret']} -d grant_type=client_credentials "
        f"{args.url}/v1/oauth/token"
    )


def demo_client_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--file", required=True, help="where the demo secrets are kept")
    parser.add_argument("--url", default="http://127.0.0.1:8100", help="the gateway's URL")


# -- signing keys -----------------------------------------------------------------------------


async def signing_key(settings: GatewaySettings, args: argparse.Namespace) -> None:
    """Print a new signing key as an entry of ``LABORCOOP_TOKEN_SIGNING_KEYS`` (a secret: it
    goes to stdout only, for the operator to put into the secret store)."""
    try:
        print(new_key_entry(args.kid))
    except SigningKeyProblem as problem:
        raise SystemExit(f"signing-key: {problem}") from None


def signing_key_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--kid", required=True, help="the new key's id, e.g. 2026-07")


CLIENTS = cli.service_command(
    SPEC, "create, list, rotate or disable OAuth clients", clients, arguments=client_arguments
)
DEMO_CLIENTS = cli.service_command(
    SPEC,
    "development: make the demo clients once and print them with their secrets",
    demo_clients,
    arguments=demo_client_arguments,
)
# -- rebuilding the views --------------------------------------------------------------------


async def rebuild_views(settings: GatewaySettings, args: argparse.Namespace) -> None:
    """Rebuild every projection from the beginning of its topic and swap it in, while the old
    tables serve (``laborcoop.gateway.views.rebuild``); progress on stderr."""
    try:
        outcome = await rebuild.rebuild_views(settings, drop_previous=args.drop_previous)
    except (rebuild.RebuildRefused, rebuild.RebuildFailed) as problem:
        raise SystemExit(f"rebuild-views: {problem}") from None
    tally = outcome.tally
    print(
        f"rebuild-views: {outcome.records} records in {outcome.seconds:.1f} s: {tally.line()}",
        file=sys.stderr,
    )
    for refused in tally.failed:
        print(f"rebuild-views: refused {refused}", file=sys.stderr)


def rebuild_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--drop-previous",
        action="store_true",
        help=f"drop the replaced tables at the swap (default: kept in {rebuild.PREVIOUS_SCHEMA}"
        " until the next rebuild)",
    )


REBUILD_VIEWS = cli.ExtraCommand(
    "rebuild every view from the beginning of its topic and swap it in while serving",
    rebuild_views,
    rebuild_arguments,
)
SIGNING_KEY = cli.ExtraCommand(
    "print a new token signing key (an entry of LABORCOOP_TOKEN_SIGNING_KEYS)",
    signing_key,
    signing_key_arguments,
)


async def webhook_key(settings: GatewaySettings, args: argparse.Namespace) -> None:
    """Print a new ``LABORCOOP_WEBHOOK_SECRET_KEY`` (a secret: to stdout only)."""
    print(new_webhook_key())


async def reseal_webhook_secrets(
    context: ServiceContext[GatewaySettings], uses: GatewayUses, args: argparse.Namespace
) -> None:
    """Seal every webhook secret under ``LABORCOOP_WEBHOOK_SECRET_KEY`` (the keys of
    ``LABORCOOP_WEBHOOK_PREVIOUS_SECRET_KEYS`` open the older ones); prints what it did as one
    JSON line, and fails naming the subscriptions no key opens."""
    done = await uses.webhooks.reseal_secrets(context.pool)
    _print({"resealed": done.resealed, "already_current": done.current})
    if done.unreadable:
        names = ", ".join(str(subscription) for subscription in done.unreadable)
        raise SystemExit(
            f"reseal-webhook-secrets: no configured key opens the secret of {names}: add the "
            "key that sealed it to LABORCOOP_WEBHOOK_PREVIOUS_SECRET_KEYS, or have these "
            "subscriptions rotate their secret"
        )


RESEAL_WEBHOOK_SECRETS = cli.service_command(
    SPEC,
    "seal every webhook secret under the current LABORCOOP_WEBHOOK_SECRET_KEY",
    reseal_webhook_secrets,
)
WEBHOOK_KEY = cli.ExtraCommand(
    "print a new key sealing the webhook secrets (LABORCOOP_WEBHOOK_SECRET_KEY)", webhook_key
)


def main() -> None:
    cli.main(
        SPEC,
        GatewaySettings,
        default_port=8100,
        extra={
            "clients": CLIENTS,
            "signing-key": SIGNING_KEY,
            "webhook-key": WEBHOOK_KEY,
            "reseal-webhook-secrets": RESEAL_WEBHOOK_SECRETS,
            "rebuild-views": REBUILD_VIEWS,
            "demo-clients": DEMO_CLIENTS,
            "dev-keys": cli.ExtraCommand("create a local signing key and JWKS file", dev_keys),
            "dev-token": cli.ExtraCommand("print a development token", dev_token, token_arguments),
        },
    )
