"""Server push: notify_user, the notification socket and `manage.py notify`."""

import datetime
import decimal
import threading
import uuid

import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.core.management import CommandError, call_command
from django.db import transaction

from tests.fixtures import communicator, login, receive_close

from ..services import notify_user

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def alice(make_user):
    user = make_user("alice")
    return user, login(user)


async def listen(session: str):
    client = communicator("/ws/notifications/", login=session)
    connected, _ = await client.connect()
    assert connected
    return client


@pytest.mark.usefixtures("layer")
async def test_notify_user_reaches_every_socket_of_the_user(alice, make_user):
    """It delivers the payload, as sent, to each of the user's sockets and no one else's."""
    user, session = alice
    other = await sync_to_async(make_user)("bob")
    tabs = [await listen(session), await listen(session)]
    bystander = await listen(await sync_to_async(login)(other))
    payload = {"event": "order_updated", "status": "shipped", "order_id": 7}
    await sync_to_async(notify_user)(user.pk, payload)
    for tab in tabs:
        assert await tab.receive_json_from(timeout=5) == payload
    assert await bystander.receive_nothing(timeout=0.3)
    for client in [*tabs, bystander]:
        await client.disconnect()


@pytest.mark.usefixtures("layer")
async def test_nothing_is_sent_when_the_transaction_rolls_back(alice):
    """It publishes after commit, so a rolled-back change is never announced."""
    user, session = alice
    client = await listen(session)

    def publish_then_roll_back() -> None:
        with transaction.atomic():
            notify_user(user.pk, {"event": "ghost"})
            transaction.set_rollback(True)
        with transaction.atomic():
            notify_user(user.pk, {"event": "real"})

    await sync_to_async(publish_then_roll_back)()
    assert await client.receive_json_from(timeout=5) == {"event": "real"}
    assert await client.receive_nothing(timeout=0.3)
    await client.disconnect()


async def test_dates_uuids_and_decimals_survive_redis(alice, redis_layer):
    """It encodes values msgpack cannot carry as strings, so they cross Redis."""
    user, session = alice
    client = await listen(session)
    when = datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.UTC)
    ident = uuid.UUID("12345678-1234-5678-1234-567812345678")
    await sync_to_async(notify_user)(
        user.pk, {"at": when, "id": ident, "amount": decimal.Decimal("1.10")}
    )
    assert await client.receive_json_from(timeout=5) == {
        "at": "2026-01-02T03:04:05Z",
        "id": str(ident),
        "amount": "1.10",
    }
    await client.disconnect()


def test_a_payload_that_is_not_an_object_is_refused():
    """It refuses a payload that is not a JSON object, with a clear error."""
    with pytest.raises(TypeError, match="mapping"):
        notify_user(1, ["not", "an", "object"])


async def test_sync_callers_leave_no_event_loop_debris(alice, redis_layer, caplog):
    """It publishes from plain threads, again and again, without 'Event loop is closed'."""
    user, session = alice
    client = await listen(session)
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            notify_user(user.pk, {"n": n})
        except BaseException as exc:  # reported below
            errors.append(exc)

    for n in range(3):
        thread = threading.Thread(target=worker, args=(n,))
        thread.start()
        await sync_to_async(thread.join)()
    assert errors == []
    received = [await client.receive_json_from(timeout=5) for _ in range(3)]
    assert received == [{"n": 0}, {"n": 1}, {"n": 2}]
    assert "Event loop is closed" not in caplog.text
    assert "Task was destroyed" not in caplog.text
    await client.disconnect()


@pytest.mark.usefixtures("layer")
async def test_article_style_group_send_is_delivered(alice):
    """It also delivers the article's {"type": "user_notification", "payload": ...}."""
    user, session = alice
    client = await listen(session)
    await get_channel_layer().group_send(
        f"user_{user.pk}", {"type": "user_notification", "payload": {"event": "hi"}}
    )
    assert await client.receive_json_from(timeout=5) == {"event": "hi"}
    await client.disconnect()


async def test_anonymous_users_are_refused_with_4001():
    """It accepts, then closes with 4001, a notification socket without a user."""
    client = communicator("/ws/notifications/")
    assert (await client.connect())[0]
    assert (await receive_close(client))["code"] == 4001


@pytest.mark.usefixtures("layer")
async def test_client_frames_get_an_error(alice):
    """It answers anything a client sends with a read-only error, keeping the socket."""
    _, session = alice
    client = await listen(session)
    await client.send_to(text_data='{"message": "hi"}')
    assert (await client.receive_json_from(timeout=5))["code"] == "read_only"
    await client.disconnect()


async def test_notify_command_pushes_to_the_user(alice, redis_layer):
    """`manage.py notify <username> '<json>'` reaches the user's socket."""
    _, session = alice
    client = await listen(session)
    await sync_to_async(call_command)("notify", "alice", '{"event": "from the shell"}')
    assert await client.receive_json_from(timeout=5) == {"event": "from the shell"}
    await client.disconnect()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["alice", "{not json"], "not valid JSON"),
        (["alice", "[1]"], "must be a JSON object"),
        (["nobody", "{}"], "no user named 'nobody'"),
    ],
)
def test_notify_command_explains_bad_input(alice, redis_layer, args, message):
    """It refuses bad JSON, non-objects and unknown users with a clear message."""
    with pytest.raises(CommandError, match=message):
        call_command("notify", *args)


def test_notify_command_needs_redis(alice, settings):
    """It refuses to run on the in-memory layer, which cannot reach the server."""
    from config.layers import channel_layers

    settings.CHANNEL_LAYERS = channel_layers("")
    with pytest.raises(CommandError, match="REDIS_URL is not set"):
        call_command("notify", "alice", "{}")


def test_notify_user_never_fails_its_transaction_when_redis_is_away(make_user, redis_away, caplog):
    """The row commits; the notification is logged as not sent."""
    with transaction.atomic():
        user = make_user("alice")
        notify_user(user.pk, {"event": "welcome"})
    assert type(user).objects.filter(username="alice").exists()
    assert "not sent" in caplog.text


def test_notify_command_says_when_it_could_not_send(alice, redis_away):
    with pytest.raises(CommandError, match="not sent"):
        call_command("notify", "alice", "{}")
