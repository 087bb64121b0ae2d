"""Changing the key that seals webhook secrets: the previous keys still open what they sealed, and
``reseal-webhook-secrets`` seals every stored secret under the new key (on a real database), so the
previous key can go without any subscriber rotating its secret."""

import argparse
from dataclasses import replace
from uuid import UUID, uuid4

import pytest
from pydantic import SecretStr

from laborcoop.common.spec import opened
from laborcoop.gateway.app import SPEC
from laborcoop.gateway.cli import reseal_webhook_secrets
from laborcoop.gateway.settings import GatewaySettings
from laborcoop.gateway.subscriptions import repository
from laborcoop.gateway.subscriptions.repository import Subscription
from laborcoop.gateway.subscriptions.secrets import (
    SecretBox,
    SecretUnreadable,
    new_key,
    new_secret,
)
from laborcoop.testing import FreshApps
from services.gateway.tests.story import stored_subscription


def test_previous_keys_open_what_they_sealed_and_never_seal() -> None:
    old, new = new_key(), new_key()
    subscription, secret = uuid4(), new_secret()
    sealed_by_old = SecretBox.from_setting(old).seal(secret, subscription)
    ring = SecretBox.from_setting(new, [old])
    assert ring.open(sealed_by_old, subscription) == secret
    resealed = ring.resealed(sealed_by_old, subscription)
    assert resealed is not None
    assert SecretBox.from_setting(new).open(resealed, subscription) == secret  # the new key alone
    assert ring.resealed(resealed, subscription) is None  # already under the current key
    with pytest.raises(SecretUnreadable):
        SecretBox.from_setting(new).open(sealed_by_old, subscription)
    with pytest.raises(SecretUnreadable):
        SecretBox.from_setting(old).open(ring.seal(secret, subscription), subscription)


@pytest.mark.parametrize("previous", [["not base64!"], ["c2hvcnQ="]])
def test_a_malformed_key_is_refused_naming_the_settings(previous: list[str]) -> None:
    with pytest.raises(ValueError, match="LABORCOOP_WEBHOOK_PREVIOUS_SECRET_KEYS"):
        SecretBox.from_setting(new_key(), previous)


async def test_reseal_moves_every_secret_to_the_new_key_and_names_what_none_opens(
    fresh_apps: FreshApps, capsys: pytest.CaptureFixture[str]
) -> None:
    old, new, lost = new_key(), new_key(), new_key()
    settings = await fresh_apps.settings(GatewaySettings, SPEC.migration_package)
    secrets: dict[UUID, tuple[str, str | None]] = {}
    box = SecretBox.from_setting(old)
    async with opened(SPEC, settings) as (context, _):
        for n in range(5):  # sealed under the old key, two with a previous secret as well
            made = stored_subscription()
            plain = (new_secret(), new_secret() if n % 2 else None)
            sealed = replace_secrets(made, box, *plain)
            await context.pool.execute(repository.INSERT, *repository.insert_args(sealed))
            secrets[made.id] = plain
        unopened = replace_secrets(stored_subscription(), SecretBox.from_setting(lost), "x", None)
        await context.pool.execute(repository.INSERT, *repository.insert_args(unopened))

    rotated = settings.model_copy(
        update={
            "webhook_secret_key": SecretStr(new),
            "webhook_previous_secret_keys": [SecretStr(old)],
        }
    )
    with pytest.raises(SystemExit, match=str(unopened.id)):
        async with opened(SPEC, rotated) as (context, uses):
            await reseal_webhook_secrets(context, uses, argparse.Namespace())
    assert '"resealed": 5' in capsys.readouterr().out

    new_only = settings.model_copy(update={"webhook_secret_key": SecretStr(new)})
    async with opened(SPEC, new_only) as (context, uses):
        box = uses.webhooks.box  # the new key alone
        for subscription_id, (secret, previous) in secrets.items():
            stored = await repository.load(context.pool, subscription_id)
            assert stored is not None
            assert box.open(stored.secret, subscription_id) == secret
            if previous is not None:
                assert stored.previous_secret is not None
                assert box.open(stored.previous_secret, subscription_id) == previous
            assert stored.version == 1  # the subscription itself did not change
        again = await uses.webhooks.reseal_secrets(context.pool)
    assert (again.resealed, again.current, again.unreadable) == (0, 5, [unopened.id])


def replace_secrets(
    subscription: Subscription, box: SecretBox, secret: str, previous: str | None
) -> Subscription:
    return replace(
        subscription,
        secret=box.seal(secret, subscription.id),
        previous_secret=None if previous is None else box.seal(previous, subscription.id),
    )
