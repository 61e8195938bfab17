"""Every socket answers a client's heartbeat: {"type": "ping"} gets {"type": "pong"}."""

import json

import pytest

from tests.fixtures import communicator

from ..consumers import PONG
from ..writer import SocketWriter

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize("path", ["/ws/chat/lobby/", "/ws/notifications/"])
async def test_ping_is_answered_with_pong(path, alice):
    """It answers a ping with a pong on every route, and the socket stays open."""
    client = communicator(path, login=alice)
    assert (await client.connect())[0]
    await client.send_to(text_data=json.dumps({"type": "ping"}))
    while (frame := await client.receive_json_from(timeout=5))["type"] != "pong":
        assert frame["type"] == "chat.message", frame  # the room's history comes first
    await client.send_to(text_data=json.dumps({"type": "ping"}))
    assert await client.receive_json_from(timeout=5) == {"type": "pong"}
    await client.disconnect()


async def test_a_ping_is_not_a_post(alice):
    """A ping never reaches the room: nothing is stored or broadcast."""
    client = communicator("/ws/chat/ping-room/", login=alice)
    assert (await client.connect())[0]
    await client.send_to(text_data=json.dumps({"type": "ping", "message": "not a post"}))
    assert await client.receive_json_from(timeout=5) == {"type": "pong"}
    assert await client.receive_nothing(timeout=0.2)
    await client.disconnect()


async def test_a_pong_to_a_client_already_gone_is_no_error(alice, monkeypatch, caplog):
    """The client left while its pong was on the way (Uvicorn raises ClientDisconnected, an
    OSError): no error is logged, and the socket ends when the server says so."""
    gone = False
    send = SocketWriter.send

    async def send_until_gone(self, message):
        if gone and message.get("text") == PONG:
            raise OSError("client disconnected")
        await send(self, message)

    monkeypatch.setattr(SocketWriter, "send", send_until_gone)
    client = communicator("/ws/notifications/", login=alice)
    assert (await client.connect())[0]
    gone = True
    await client.send_to(text_data=json.dumps({"type": "ping"}))
    assert await client.receive_nothing(timeout=0.3)
    await client.disconnect()
    assert not [r for r in caplog.records if r.levelname == "ERROR"]
