"""The chat socket, through the real ASGI application, on both channel layers."""

import asyncio
import json

import pytest
from asgiref.sync import sync_to_async

from tests.fixtures import communicator, joined, login, receive_close

from ..models import Message

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("layer")]


async def test_article_client_receives_message_and_sender(alice, bob):
    """It delivers {"message"} from one member to every member, with the sender's name."""
    a = await joined("/ws/chat/lobby/", alice)
    b = await joined("/ws/chat/lobby/", bob)
    await a.send_to(text_data=json.dumps({"message": "hello"}))
    for client in (a, b):
        frame = await client.receive_json_from(timeout=5)
        assert frame["message"] == "hello"
        assert frame["sender"] == "alice"
        assert frame["type"] == "chat.message"
        assert frame["id"] == 1
    await a.disconnect()
    await b.disconnect()


async def test_rooms_are_separate(alice, bob):
    """It delivers a message only to the members of its own room."""
    a = await joined("/ws/chat/one/", alice)
    b = await joined("/ws/chat/two/", bob)
    await a.send_to(text_data=json.dumps({"message": "only one"}))
    assert (await a.receive_json_from(timeout=5))["message"] == "only one"
    assert await b.receive_nothing(timeout=0.3)
    await a.disconnect()
    await b.disconnect()


async def test_history_is_sent_on_connect_in_order(alice, bob):
    """It stores messages with ids that increase within the room and replays them."""
    a = await joined("/ws/chat/history/", alice)
    for text in ("first", "second", "third"):
        await a.send_to(text_data=json.dumps({"message": text}))
        await a.receive_json_from(timeout=5)
    await a.disconnect()
    b = await joined("/ws/chat/history/", bob)
    frames = [await b.receive_json_from(timeout=5) for _ in range(3)]
    assert [f["message"] for f in frames] == ["first", "second", "third"]
    assert [f["id"] for f in frames] == [1, 2, 3]
    assert {f["sender"] for f in frames} == {"alice"}
    assert await b.receive_nothing(timeout=0.2)
    await b.disconnect()
    assert await sync_to_async(Message.objects.filter(room__name="history").count)() == 3


async def test_anonymous_users_are_refused_with_4001(make_user):
    """It accepts, then closes with 4001, a socket without a logged-in user."""
    client = communicator("/ws/chat/lobby/")
    connected, _ = await client.connect()
    assert connected
    closed = await receive_close(client)
    assert closed["type"] == "websocket.close"
    assert closed["code"] == 4001
    assert closed["reason"]


@pytest.fixture
def private_room(make_user):
    from ..models import Room

    room = Room.objects.create(name="staff", is_private=True)
    room.members.add(make_user("carol"))
    return room


async def test_private_rooms_refuse_non_members_with_4003(alice, private_room):
    """It accepts, then closes with 4003, a user who is not a member of a private room."""
    client = communicator("/ws/chat/staff/", login=alice)
    assert (await client.connect())[0]
    closed = await receive_close(client)
    assert (closed["code"], closed["reason"]) == (4003, "this room is private")


async def test_private_rooms_admit_members(private_room):
    """It admits a member of a private room."""
    carol = await sync_to_async(login)(await private_room.members.aget(username="carol"))
    client = await joined("/ws/chat/staff/", carol)
    await client.send_to(text_data=json.dumps({"message": "members only"}))
    assert (await client.receive_json_from(timeout=5))["message"] == "members only"
    await client.disconnect()


@pytest.mark.parametrize(
    ("room", "stored"),
    [
        ("caf%C3%A9", "café"),
        ("two%20words", "two words"),
        ("%E8%81%8A%E5%A4%A9", "聊天"),
        ("x" * 99, "x" * 99),
    ],
)
async def test_room_names_that_are_not_group_names_still_work(alice, bob, room, stored):
    """It maps Unicode, spaces and long names to a safe group and chats there."""
    a = await joined(f"/ws/chat/{room}/", alice)
    b = await joined(f"/ws/chat/{room}/", bob)
    await a.send_to(text_data=json.dumps({"message": "hi"}))
    frame = await b.receive_json_from(timeout=5)
    assert frame["room"] == stored
    assert frame["message"] == "hi"
    await a.disconnect()
    await b.disconnect()


@pytest.mark.parametrize("room", ["x" * 101, "%20padded", "tab%09name"])
async def test_invalid_room_names_close_with_4000(alice, room):
    """It accepts, then closes with 4000 and a reason, a room name it cannot use."""
    client = communicator(f"/ws/chat/{room}/", login=alice)
    connected, _ = await client.connect()
    assert connected
    closed = await receive_close(client)
    assert closed["type"] == "websocket.close"
    assert closed["code"] == 4000
    assert closed["reason"]


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ("not json", "invalid_json"),
        ("[1, 2]", "invalid_frame"),
        ('"message"', "invalid_frame"),
        ("{}", "invalid_message"),
        ('{"message": 5}', "invalid_message"),
        ('{"message": "   "}', "invalid_message"),
        (json.dumps({"message": "x" * 4001}), "invalid_message"),
    ],
)
async def test_bad_frames_get_an_error_and_the_socket_stays_open(alice, frame, code):
    """It answers a bad frame with an error frame, stores nothing and keeps the socket."""
    client = await joined("/ws/chat/errors/", alice)
    await client.send_to(text_data=frame)
    error = await client.receive_json_from(timeout=5)
    assert error["type"] == "error"
    assert error["code"] == code
    assert error["detail"]
    await client.send_to(text_data=json.dumps({"message": "still here"}))
    assert (await client.receive_json_from(timeout=5))["message"] == "still here"
    await client.disconnect()
    assert await sync_to_async(Message.objects.count)() == 1


async def test_binary_frames_get_an_error(alice):
    """It refuses binary frames with an error frame."""
    client = await joined("/ws/chat/errors/", alice)
    await client.send_to(bytes_data=b'{"message": "hi"}')
    error = await client.receive_json_from(timeout=5)
    assert error["code"] == "binary_not_supported"
    await client.disconnect()


async def test_client_keys_are_never_forwarded_to_the_group(alice, bob):
    """It ignores a client's "type": members keep their sockets and get only the text."""
    a = await joined("/ws/chat/hostile/", alice)
    b = await joined("/ws/chat/hostile/", bob)
    hostile = {"type": "websocket.disconnect", "code": 1000, "message": "boom", "sender": "eve"}
    await a.send_to(text_data=json.dumps(hostile))
    frame = await b.receive_json_from(timeout=5)
    assert frame["message"] == "boom"
    assert frame["sender"] == "alice"
    assert frame["type"] == "chat.message"
    await a.send_to(text_data=json.dumps({"message": "after"}))
    assert (await b.receive_json_from(timeout=5))["message"] == "after"
    await a.disconnect()
    await b.disconnect()


async def test_main_paths_never_touch_the_orm_from_async_code(alice, bob, caplog):
    """It runs connect, history, send and broadcast without SynchronousOnlyOperation."""
    a = await joined("/ws/chat/sync/", alice)
    await a.send_to(text_data=json.dumps({"message": "one"}))
    await a.receive_json_from(timeout=5)
    b = await joined("/ws/chat/sync/", bob)
    assert (await b.receive_json_from(timeout=5))["message"] == "one"
    await b.send_to(text_data=json.dumps({"message": "two"}))
    assert (await a.receive_json_from(timeout=5))["message"] == "two"
    await asyncio.gather(a.disconnect(), b.disconnect())
    assert "SynchronousOnlyOperation" not in caplog.text


@pytest.mark.parametrize("ending", ["disconnect", "crash"])
async def test_a_socket_that_ends_leaves_the_room_group_however_it_ends(alice, bob, ending):
    """Its channel is dropped from the room on a close and on a crash (the task cancelled)."""
    from channels.layers import get_channel_layer

    a = await joined("/ws/chat/leaving/", alice)
    b = await joined("/ws/chat/leaving/", bob)
    # Both are idle once a message went round: their connect (presence included) is over.
    # A cancellation that lands inside a redis-py call can be swallowed by it
    # (redis/redis-py#2028); that is not what this test is about.
    await a.send_to(text_data=json.dumps({"message": "ready"}))
    for client in (a, b):
        assert (await client.receive_json_from(timeout=5))["message"] == "ready"
    if ending == "disconnect":
        await a.disconnect()
    else:
        a.future.cancel()
        with pytest.raises(asyncio.CancelledError):
            await a.future
    await b.send_to(text_data=json.dumps({"message": "who is left?"}))
    assert (await b.receive_json_from(timeout=5))["message"] == "who is left?"
    layer = get_channel_layer()
    if hasattr(layer, "here"):  # the Redis layer: one local member left in the group
        members = layer.here().groups[layer.here().group_channel("chat.leaving")]
        assert len(members) == 1
    else:  # the in-memory layer
        assert len(layer.groups["chat.leaving"]) == 1
    await b.disconnect()
