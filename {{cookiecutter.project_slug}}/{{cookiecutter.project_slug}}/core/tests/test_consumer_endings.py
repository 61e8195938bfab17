"""However a consumer ends, it cleans up; whatever reaches it, it carries on or says why.

Failures are injected into the real consumer on both channel layers: an extension whose
stop raises, a channel layer whose receive raises, a client gone in the middle of a send,
events of unknown types and shapes, a handshake whose lookups fail.
"""

import asyncio
import json
import logging

import pytest
from channels.layers import get_channel_layer

from tests.fixtures import communicator, receive_close

from ..consumers import BaseConsumer
from ..extensions import SocketExtension
from ..writer import SocketWriter

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("layer")]

stopped: list[str] = []


class FailingExtension(SocketExtension):
    async def stopped(self) -> None:
        stopped.append("failing")
        raise ConnectionError("the store is away")


class RecordingExtension(SocketExtension):
    async def stopped(self) -> None:
        stopped.append("recording")


@pytest.fixture(autouse=True)
def extensions(settings):
    """Every socket runs an extension that fails to stop, then one that records its stop."""
    stopped.clear()
    settings.SOCKET_EXTENSIONS = [f"{__name__}.FailingExtension", f"{__name__}.RecordingExtension"]


async def join(path: str, credentials):
    """A socket of ``path`` whose connect (extensions included) is over: it saw its own
    message come back, after the room's history."""
    client = communicator(path, login=credentials)
    assert (await client.connect(timeout=10))[0]
    marker = f"ready {id(client)}"
    await client.send_to(text_data=json.dumps({"message": marker}))
    while (await client.receive_json_from(timeout=10)).get("message") != marker:
        pass
    return client


def members_of(group: str) -> int:
    layer = get_channel_layer()
    if hasattr(layer, "here"):  # the Redis layer: this process's members
        return len(layer.here().groups.get(layer.here().group_channel(group), ()))
    return len(layer.groups.get(group, {}))


async def wait_for(condition, what: str) -> None:
    """Waits up to 10 s for ``condition``: clean-up runs in the consumer's task, after it."""
    try:
        async with asyncio.timeout(10):
            while not condition():  # noqa: ASYNC110 (state of the layer: no event to wait on)
                await asyncio.sleep(0.01)
    except TimeoutError:
        raise AssertionError(f"timed out waiting for {what}") from None


async def ended_cleanly(group: str) -> None:
    """Both extensions were stopped, the failing one first, and the group is empty."""
    await wait_for(lambda: stopped == ["failing", "recording"], "the extensions' stops")
    await wait_for(lambda: members_of(group) == 0, "the group to be left")


async def test_a_close_stops_every_extension_and_leaves_the_groups(alice, caplog):
    client = await join("/ws/chat/ending-close/", alice)
    await client.disconnect()
    await ended_cleanly("chat.ending-close")
    assert "stopping FailingExtension failed" in caplog.text


async def test_a_layer_receive_that_raises_ends_the_socket_cleanly(alice, monkeypatch):
    """The consumer crashes out of its dispatch loop; its clean-up still runs."""
    layer = get_channel_layer()
    failing = asyncio.Event()
    receive = layer.receive

    async def receive_until_it_fails(channel: str):
        task = asyncio.ensure_future(receive(channel))
        fail = asyncio.ensure_future(failing.wait())
        await asyncio.wait([task, fail], return_when=asyncio.FIRST_COMPLETED)
        if failing.is_set():
            task.cancel()
            raise ConnectionError("the layer lost Redis")
        fail.cancel()
        return task.result()

    monkeypatch.setattr(layer, "receive", receive_until_it_fails)
    client = await join("/ws/chat/ending-layer/", alice)
    failing.set()
    with pytest.raises(ConnectionError):
        await asyncio.wait_for(client.future, 10)
    await ended_cleanly("chat.ending-layer")


async def test_a_client_gone_mid_send_ends_the_socket_cleanly(alice, monkeypatch):
    gone = asyncio.Event()
    send = SocketWriter.send

    async def send_until_gone(self, message):
        if gone.is_set():
            raise ConnectionError("client disconnected")
        await send(self, message)

    # Patched before the socket opens: its consumer binds the writer's send then.
    monkeypatch.setattr(SocketWriter, "send", send_until_gone)
    client = await join("/ws/chat/ending-send/", alice)
    gone.set()
    await client.send_to(text_data="not json")  # its error frame cannot be sent
    with pytest.raises(ConnectionError):
        await asyncio.wait_for(client.future, 10)
    await ended_cleanly("chat.ending-send")


@pytest.mark.parametrize(
    "event",
    [
        {"type": "no.such.handler"},
        {"type": "chat.message"},
        {"type": "chat.message", "text": ["not", "text"]},
        {"type": "_private"},
        {"type": "websocket.unknown"},
        {"type": "session.logout.x"},
    ],
)
async def test_events_of_unknown_types_and_shapes_are_ignored(alice, bob, event, caplog):
    """The room's sockets log them and keep delivering."""
    a = await join("/ws/chat/odd-events/", alice)
    b = await join("/ws/chat/odd-events/", bob)
    assert (await a.receive_json_from(timeout=10))["message"].startswith("ready")  # bob's
    caplog.set_level(logging.WARNING)
    await get_channel_layer().group_send("chat.odd-events", event)
    await a.send_to(text_data=json.dumps({"message": "after"}))
    for client in (a, b):
        assert (await client.receive_json_from(timeout=10))["message"] == "after"
    assert "ignored" in caplog.text
    await asyncio.gather(a.disconnect(), b.disconnect())


async def test_a_handshake_whose_lookups_fail_is_refused_with_4013(alice, monkeypatch):
    """The database or Redis away during connect: closed with 4013, try again later."""
    from ...chat import consumers

    async def away(*args, **kwargs):
        raise ConnectionError("the database is away")

    monkeypatch.setattr(consumers.admissions, "load", away)
    client = communicator("/ws/chat/ending-connect/", login=alice)
    assert (await client.connect(timeout=10))[0]
    closed = await receive_close(client)
    assert closed["code"] == 4013
    await wait_for(lambda: members_of("chat.ending-connect") == 0, "the group to be left")


@pytest.mark.parametrize("path", ["/ws/chat/redis-away/", "/ws/notifications/"])
async def test_a_handshake_while_redis_is_away_is_refused_with_4013(alice, redis_away, path):
    """Within the handshake timeout, with the code that tells the client to come back."""
    client = communicator(path, login=alice)
    async with asyncio.timeout(BaseConsumer.handshake_timeout):
        assert (await client.connect(timeout=10))[0]
        closed = await receive_close(client)
    assert closed["code"] == 4013
