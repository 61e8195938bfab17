"""A user's credentials changing closes all of the user's sockets (4001), and nobody else's."""

import pytest
from asgiref.sync import sync_to_async
from django.conf import settings as django_settings
from django.contrib.auth import authenticate, get_user_model
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.contrib.auth.models import update_last_login
from django.db import transaction

from tests.fixtures import communicator, joined, login, receive_close

pytestmark = pytest.mark.django_db(transaction=True)

PATHS = ("/ws/chat/lobby/", "/ws/notifications/")


def change(user, how: str) -> None:
    """Changes ``user``'s credentials ``how`` (the ways administrators and Django do it)."""
    if how == "password":
        user.set_password("a new password")  # Django's password change and reset forms
        user.save()
    elif how == "unusable password":
        user.set_unusable_password()
        user.save()
    elif how == "deactivate":
        user.is_active = False
        user.save()
    elif how == "delete":
        user.delete()


@pytest.mark.usefixtures("layer")
@pytest.mark.parametrize(
    ("how", "reason"),
    [
        ("password", "password changed"),
        ("unusable password", "password changed"),
        ("deactivate", "user deactivated"),
        ("delete", "user deleted"),
    ],
)
async def test_a_credential_change_closes_every_socket_of_the_user(make_user, how, reason):
    """It closes the user's sockets of every login with 4001, and keeps another user's."""
    alice = await sync_to_async(make_user)("alice")
    bob = await sync_to_async(make_user)("bob")
    # Two logins of alice (two browsers, or two tokens), each with a socket on each path.
    logins = [await sync_to_async(login)(alice) for _ in range(2)]
    sockets = [await joined(path, each) for each in logins for path in PATHS]
    kept = await joined("/ws/chat/lobby/", await sync_to_async(login)(bob))

    await sync_to_async(change)(alice, how)

    for client in sockets:
        closed = await receive_close(client)
        assert (closed["code"], closed["reason"]) == (4001, reason)
    assert await kept.receive_nothing(timeout=0.3)
    await kept.disconnect()


@pytest.mark.usefixtures("layer")
async def test_saves_that_change_no_credential_close_nothing(make_user):
    """A login's last_login, a new name, another user's new password: the socket stays."""
    alice = await sync_to_async(make_user)("alice")
    bob = await sync_to_async(make_user)("bob")
    client = await joined("/ws/notifications/", await sync_to_async(login)(alice))

    def save_others() -> None:
        update_last_login(None, alice)
        alice.first_name = "Alice"
        alice.save()
        get_user_model().objects.get(pk=alice.pk).save()  # a fresh copy, saved unchanged
        change(bob, "password")
        change(bob, "deactivate")

    await sync_to_async(save_others)()
    assert await client.receive_nothing(timeout=0.3)
    await client.send_to(text_data="{}")
    assert (await client.receive_json_from(timeout=5))["code"] == "read_only"
    await client.disconnect()


class OneRoundHasher(PBKDF2PasswordHasher):
    """A newer hasher than the tests' MD5, quick enough for a test."""

    iterations = 1


@pytest.mark.usefixtures("layer")
async def test_a_hash_upgrade_at_login_ends_sockets_only_where_django_ends_sessions(
    make_user, settings
):
    """A login that rehashes the password for a newer hasher changes no password: tokens
    stay valid, so token sockets stay open. A login session's auth hash is an HMAC of the
    password's hash, so Django then refuses the user's other sessions: their sockets close."""
    alice = await sync_to_async(make_user)("alice")
    client = await joined("/ws/notifications/", await sync_to_async(login)(alice))
    settings.PASSWORD_HASHERS = [f"{__name__}.OneRoundHasher", *settings.PASSWORD_HASHERS]

    assert await sync_to_async(authenticate)(username="alice", password="pw")
    stored = await get_user_model().objects.aget(pk=alice.pk)
    assert stored.password.startswith("pbkdf2_sha256$1$")  # rehashed and saved

    if django_settings.SOCKET_AUTH == "session":
        closed = await receive_close(client)
        assert (closed["code"], closed["reason"]) == (4001, "password changed")
    else:
        assert await client.receive_nothing(timeout=0.3)
        await client.disconnect()


async def test_a_change_that_rolls_back_closes_nothing(make_user):
    """It closes sockets after the commit only: a rolled-back password change closes none."""
    alice = await sync_to_async(make_user)("alice")
    client = await joined("/ws/notifications/", await sync_to_async(login)(alice))

    def change_then_fail() -> None:
        with pytest.raises(RuntimeError), transaction.atomic():
            change(alice, "password")
            raise RuntimeError("rolled back")

    await sync_to_async(change_then_fail)()
    assert await client.receive_nothing(timeout=0.3)
    await client.disconnect()


async def test_a_credential_change_is_saved_while_redis_is_away(make_user, redis_away, caplog):
    """Closing the sockets is best effort: the new password is saved, the failure logged."""
    alice = await sync_to_async(make_user)("alice")
    await sync_to_async(change)(alice, "password")
    stored = await get_user_model().objects.aget(pk=alice.pk)
    assert stored.check_password("a new password")
    assert "not sent" in caplog.text


async def test_a_forged_revocation_reason_is_not_repeated(make_user):
    """It closes with its own reason when an auth.revoked event names an unknown one."""
    from channels.layers import get_channel_layer

    from ...core.groups import auth_group_name

    alice = await sync_to_async(make_user)("alice")
    client = communicator("/ws/notifications/", login=await sync_to_async(login)(alice))
    assert (await client.connect())[0]
    event = {"type": "auth.revoked", "reason": "x" * 200}
    await get_channel_layer().group_send(auth_group_name(alice.pk), event)
    closed = await receive_close(client)
    assert closed["code"] == 4001
    assert closed["reason"] in ("logged out", "token revoked")
