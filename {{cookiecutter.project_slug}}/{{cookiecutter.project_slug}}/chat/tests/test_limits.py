"""A client's limits on the chat socket: its message rate, its user's, its user's sockets."""

import json

import pytest

from tests.fixtures import communicator, joined, metric, receive_close

from ...core import limits
from ...core.protocol import CloseCode

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("layer")]


@pytest.fixture(autouse=True)
def _fresh_memory_limits(monkeypatch) -> None:
    """Counts of this process start empty for each test (Redis is flushed by `layer`)."""
    monkeypatch.setattr(limits, "_memory", limits.MemoryUserLimits())


async def post(client, text: str) -> None:
    await client.send_to(text_data=json.dumps({"message": text}))


async def test_past_its_rate_a_socket_is_told_then_closed(alice, bob, settings):
    """Frames past the burst get rate_limited with retry_after and are not handled; a client
    that keeps going is closed with 4029. The room sees only what was let through."""
    settings.WEBSOCKET_MESSAGE_RATE = 0.01  # no token comes back during the test
    settings.WEBSOCKET_MESSAGE_BURST = 3
    settings.WEBSOCKET_RATE_LIMIT_STRIKES = 2
    flooder = await joined("/ws/chat/flood/", alice)
    bystander = await joined("/ws/chat/flood/", bob)
    limited = metric("limits_hit_total", limit="messages")
    for n in range(6):
        await post(flooder, f"flood {n}")
    # The room's frames come back through the layer, the errors and the close straight
    # from the consumer: their order between the two is not fixed.
    seen = [(await bystander.receive_json_from(timeout=10))["message"] for _ in range(3)]
    assert seen == ["flood 0", "flood 1", "flood 2"]
    frames = []
    while (output := await flooder.receive_output(timeout=10))["type"] == "websocket.send":
        frames.append(json.loads(output["text"]))
    assert (output["type"], output["code"]) == ("websocket.close", CloseCode.RATE_LIMITED)
    errors = [f for f in frames if f["type"] == "error"]
    assert [e["code"] for e in errors] == ["rate_limited", "rate_limited"]
    assert all(e["retry_after"] > 0 for e in errors)
    assert {f["message"] for f in frames if f["type"] == "chat.message"} <= set(seen)
    assert await bystander.receive_nothing(timeout=0.3)
    assert metric("limits_hit_total", limit="messages") == limited + 3
    await flooder.disconnect()
    await bystander.disconnect()


async def test_a_users_sockets_share_one_rate(alice, settings):
    """Two sockets of one user draw on the user's bucket: together they get its burst."""
    settings.USER_MESSAGE_RATE = 0.01
    settings.USER_MESSAGE_BURST = 2
    first = await joined("/ws/chat/one-tab/", alice)
    second = await joined("/ws/chat/another-tab/", alice)
    kinds = []
    for client in (first, second, first):
        await post(client, "hi")
        kinds.append((await client.receive_json_from(timeout=5))["type"])
    assert kinds == ["chat.message", "chat.message", "error"]
    await first.disconnect()
    await second.disconnect()


async def test_a_client_within_its_rate_is_never_limited(alice, settings, monkeypatch):
    """One frame per interval, for as long as it likes: never refused (a clock the test
    moves, so that the test's own speed does not matter)."""
    settings.WEBSOCKET_MESSAGE_RATE = 10
    settings.WEBSOCKET_MESSAGE_BURST = 1
    now = [1000.0]
    monkeypatch.setattr(limits.time, "monotonic", lambda: now[0])
    client = await joined("/ws/chat/calm/", alice)
    for n in range(20):
        now[0] += 0.1
        await post(client, f"calm {n}")
        frame = await client.receive_json_from(timeout=5)
        assert frame["type"] == "chat.message", frame
    # The same client, one frame early: refused.
    await post(client, "early")
    assert (await client.receive_json_from(timeout=5))["code"] == "rate_limited"
    await client.disconnect()


async def test_a_user_past_the_socket_cap_is_refused_until_one_closes(alice, settings):
    settings.USER_MAX_SOCKETS = 2
    open_before = metric("sockets_open", route="chat")
    clients = [await joined(f"/ws/chat/tab-{n}/", alice) for n in range(2)]
    assert metric("sockets_open", route="chat") == open_before + 2
    refused = metric("socket_handshakes_total", route="chat", outcome="refused", code="4009")
    extra = communicator("/ws/chat/tab-3/", login=alice)
    assert (await extra.connect())[0]
    assert (await receive_close(extra))["code"] == CloseCode.TOO_MANY_SOCKETS
    assert metric("socket_handshakes_total", route="chat", outcome="refused", code="4009") == (
        refused + 1
    )
    await clients[0].disconnect()
    again = await joined("/ws/chat/tab-3/", alice)
    await again.disconnect()
    await clients[1].disconnect()
    assert metric("sockets_open", route="chat") == open_before


async def test_a_socket_whose_unread_frames_pile_up_is_closed(alice, settings):
    """Daphne queues frames without bound (as the test client does): past
    WEBSOCKET_RECEIVE_BACKLOG unread ones the socket is closed with 4029, unhandled."""
    settings.WEBSOCKET_RECEIVE_BACKLOG = 10
    client = await joined("/ws/chat/burst/", alice)
    for n in range(30):
        await post(client, f"burst {n}")  # queued at once: the consumer has not run yet
    output = []
    while (frame := await client.receive_output(timeout=5))["type"] != "websocket.close":
        output.append(frame)
    assert frame["code"] == CloseCode.RATE_LIMITED
    assert len(output) < 30 - settings.WEBSOCKET_RECEIVE_BACKLOG
    await client.disconnect()
