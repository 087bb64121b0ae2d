import argparse
import json
from pathlib import Path

from laborcoop.common import cli
from laborcoop.common.auth import TokenSigner
from laborcoop.gateway.app import SPEC
from laborcoop.gateway.settings import GatewaySettings


async def dev_keys(settings: GatewaySettings, args: argparse.Namespace) -> None:
    """Create the local signing key beside ``LABORCOOP_JWKS_FILE`` (development only)."""
    if settings.jwks_file is None:
        raise SystemExit("set LABORCOOP_JWKS_FILE to where the key set should be written")
    write_dev_keys(settings.jwks_file)


def write_dev_keys(jwks_file: Path) -> None:
    private = jwks_file.with_name("signing-key.pem")
    if private.exists():
        return
    jwks_file.parent.mkdir(parents=True, exist_ok=True)
    signer = TokenSigner.generate(key_id="dev-1")
    private.write_bytes(signer.private_pem())
    private.chmod(0o600)
    jwks_file.write_text(json.dumps(signer.jwks()))


async def dev_token(settings: GatewaySettings, args: argparse.Namespace) -> None:
    """Print a token signed with the local development key."""
    if settings.environment == "production" or settings.jwks_file is None:
        raise SystemExit("dev-token works only in development with LABORCOOP_JWKS_FILE set")
    pem = settings.jwks_file.with_name("signing-key.pem").read_bytes()
    signer = TokenSigner.from_pem(
        pem, "dev-1", issuer=settings.jwt_issuer, audience=settings.jwt_audience
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


def main() -> None:
    cli.main(
        SPEC,
        GatewaySettings,
        default_port=8100,
        extra={
            "dev-keys": cli.ExtraCommand("create a local signing key and JWKS file", dev_keys),
            "dev-token": cli.ExtraCommand("print a development token", dev_token, token_arguments),
        },
    )
