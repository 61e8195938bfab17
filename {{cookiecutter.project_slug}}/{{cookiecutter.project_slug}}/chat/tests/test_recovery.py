"""Exact recovery: a client that says the last id it saw gets what it missed, once each."""

import asyncio
import json

import pytest
from asgiref.sync import sync_to_async

from tests.fixtures import joined

from ..models import Message

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("layer")]


async def post(client, message: str, **extra) -> None:
    await client.send_to(text_data=json.dumps({"message": message, **extra}))


async def frames(client, count: int) -> list[dict]:
    return [await client.receive_json_from(timeout=10) for _ in range(count)]


async def room_with_messages(credentials, room: str, count: int):
    """A member of ``room`` who posted ``count`` messages (ids 1..count) and saw them."""
    client = await joined(f"/ws/chat/{room}/", credentials)
    for i in range(1, count + 1):
        await post(client, f"m{i}")
        assert (await client.receive_json_from(timeout=10))["id"] == i
    return client


async def test_a_client_that_says_its_last_id_gets_exactly_what_it_missed(alice, bob):
    """?last_id=2 after five messages: a recovery frame, ids 3-5, then live ones only."""
    a = await room_with_messages(alice, "resume", 5)
    b = await joined("/ws/chat/resume/?last_id=2", bob)
    first = await frames(b, 4)
    assert first[0] == {"type": "chat.recovery", "recovered": True, "count": 3}
    assert [f["id"] for f in first[1:]] == [3, 4, 5]
    assert [f["message"] for f in first[1:]] == ["m3", "m4", "m5"]
    assert await b.receive_nothing(timeout=0.2)
    await post(a, "m6")
    assert (await b.receive_json_from(timeout=10))["id"] == 6
    assert await b.receive_nothing(timeout=0.2)
    await asyncio.gather(a.disconnect(), b.disconnect())


async def test_a_client_that_saw_everything_gets_only_live_messages(alice, bob):
    a = await room_with_messages(alice, "uptodate", 3)
    b = await joined("/ws/chat/uptodate/?last_id=3", bob)
    assert await b.receive_json_from(timeout=10) == {
        "type": "chat.recovery",
        "recovered": True,
        "count": 0,
    }
    await post(a, "m4")
    assert (await b.receive_json_from(timeout=10))["id"] == 4
    await asyncio.gather(a.disconnect(), b.disconnect())


@pytest.mark.parametrize("last_id", [1, 99])
async def test_a_gap_it_cannot_fill_is_said_and_the_history_follows(alice, bob, settings, last_id):
    """Beyond CHAT_RECOVERY_LIMIT (or an id the room never had): recovered false, history."""
    settings.CHAT_RECOVERY_LIMIT = 2
    settings.CHAT_HISTORY_LENGTH = 3
    a = await room_with_messages(alice, "gap", 5)
    b = await joined(f"/ws/chat/gap/?last_id={last_id}", bob)
    first = await frames(b, 4)
    assert first[0] == {"type": "chat.recovery", "recovered": False, "count": 3}
    assert [f["id"] for f in first[1:]] == [3, 4, 5]
    assert await b.receive_nothing(timeout=0.2)
    await asyncio.gather(a.disconnect(), b.disconnect())


@pytest.mark.parametrize("last_id", ["abc", "-1", "9" * 30, ""])
async def test_an_unusable_last_id_gets_an_error_and_the_history(alice, bob, last_id):
    a = await room_with_messages(alice, "badid", 2)
    b = await joined(f"/ws/chat/badid/?last_id={last_id}", bob)
    error, *history = await frames(b, 3)
    assert (error["type"], error["code"]) == ("error", "invalid_last_id")
    assert [f["id"] for f in history] == [1, 2]
    await asyncio.gather(a.disconnect(), b.disconnect())


async def test_a_resume_frame_replays_what_followed_an_id(alice, bob):
    """{"type": "resume", "last_id": 3} on an open socket: the ids after 3, then live."""
    a = await room_with_messages(alice, "resume-frame", 5)
    await a.send_to(text_data=json.dumps({"type": "resume", "last_id": 3}))
    replay = await frames(a, 3)
    assert replay[0] == {"type": "chat.recovery", "recovered": True, "count": 2}
    assert [f["id"] for f in replay[1:]] == [4, 5]
    await post(a, "m6")
    assert (await a.receive_json_from(timeout=10))["id"] == 6
    await a.send_to(text_data=json.dumps({"type": "resume", "last_id": "x"}))
    assert (await a.receive_json_from(timeout=10))["code"] == "invalid_last_id"
    await a.disconnect()


async def test_a_resume_that_fails_reports_it_and_live_messages_still_flow(
    alice, bob, monkeypatch
):
    """The database away during a resume: an error frame, and the room keeps delivering."""
    from .. import consumers

    a = await room_with_messages(alice, "resume-fails", 1)
    b = await joined("/ws/chat/resume-fails/", bob)
    assert (await b.receive_json_from(timeout=10))["id"] == 1  # the history

    def away(requests):
        raise ConnectionError("the database is away")

    monkeypatch.setattr(consumers, "_admit_many", away)
    await a.send_to(text_data=json.dumps({"type": "resume", "last_id": 0}))
    assert (await a.receive_json_from(timeout=10))["code"] == "internal_error"
    await post(b, "still flowing")
    assert (await a.receive_json_from(timeout=10))["message"] == "still flowing"
    await asyncio.gather(a.disconnect(), b.disconnect())


async def test_no_message_is_missed_or_doubled_while_a_client_resumes(alice, bob):
    """Messages posted while a client reconnects arrive once each, in order."""
    a = await room_with_messages(alice, "busy", 3)
    poster = asyncio.create_task(post_many(a, 4, 40))
    b = await joined("/ws/chat/busy/?last_id=1", bob)
    await poster
    recovery = await b.receive_json_from(timeout=10)
    assert recovery["type"] == "chat.recovery"
    assert recovery["recovered"] is True
    seen = [f["id"] for f in await frames(b, 40 - 1)]
    assert seen == list(range(2, 41))
    assert await b.receive_nothing(timeout=0.3)
    await asyncio.gather(a.disconnect(), b.disconnect())


async def post_many(client, first: int, last: int) -> None:
    for i in range(first, last + 1):
        await post(client, f"m{i}")
        await asyncio.sleep(0)


async def test_a_post_with_a_ref_is_acknowledged_with_its_id(alice, bob):
    a = await joined("/ws/chat/acks/", alice)
    b = await joined("/ws/chat/acks/", bob)
    await post(a, "hello", ref="r-1")
    got = {f["type"]: f for f in await frames(a, 2)}
    assert got["chat.ack"] == {"type": "chat.ack", "ref": "r-1", "id": 1}
    assert got["chat.message"]["id"] == 1
    assert (await b.receive_json_from(timeout=10))["id"] == 1
    await asyncio.gather(a.disconnect(), b.disconnect())


async def test_a_post_retried_with_its_ref_is_stored_once(alice, bob):
    """After a reconnect, the same ref gets the same ack; nobody sees the message twice."""
    a = await joined("/ws/chat/retry/", alice)
    b = await joined("/ws/chat/retry/", bob)
    await post(a, "once", ref="r-7")
    await frames(a, 2)
    assert (await b.receive_json_from(timeout=10))["id"] == 1
    await a.disconnect()
    again = await joined("/ws/chat/retry/?last_id=1", alice)
    assert (await again.receive_json_from(timeout=10))["count"] == 0
    await post(again, "once", ref="r-7")
    assert await again.receive_json_from(timeout=10) == {"type": "chat.ack", "ref": "r-7", "id": 1}
    assert await again.receive_nothing(timeout=0.2)
    assert await b.receive_nothing(timeout=0.2)
    assert await sync_to_async(Message.objects.filter(room__name="retry").count)() == 1
    await asyncio.gather(again.disconnect(), b.disconnect())


async def test_refs_are_per_author(alice, bob):
    """Two users' posts with the same ref are two messages."""
    a = await joined("/ws/chat/refs/", alice)
    b = await joined("/ws/chat/refs/", bob)
    await post(a, "from alice", ref="same")
    await post(b, "from bob", ref="same")
    acks = [f for f in await frames(a, 3) + await frames(b, 3) if f["type"] == "chat.ack"]
    assert sorted(f["id"] for f in acks) == [1, 2]
    await asyncio.gather(a.disconnect(), b.disconnect())


@pytest.mark.parametrize("ref", [5, ["x"], "x" * 65, True])
async def test_an_unusable_ref_is_refused_and_nothing_is_stored(alice, ref):
    a = await joined("/ws/chat/badref/", alice)
    await post(a, "hi", ref=ref)
    error = await a.receive_json_from(timeout=10)
    assert (error["type"], error["code"]) == ("error", "invalid_ref")
    assert await sync_to_async(Message.objects.count)() == 0
    await a.disconnect()


async def test_sockets_catch_up_on_what_a_redis_restart_kept_from_them(
    alice, bob, restartable_redis, settings
):
    """Redis killed and started again: sockets stay open, a post made meanwhile is stored
    and its sender told, and every socket then gets it exactly once (with a recovery
    frame for a client that speaks the protocol, without one for the article's)."""
    from config.layers import channel_layers

    settings.CHANNEL_LAYERS = channel_layers(f"{restartable_redis.url}/0")
    a = await joined("/ws/chat/outage/?last_id=0", alice)
    assert (await a.receive_json_from(timeout=10))["type"] == "chat.recovery"
    b = await joined("/ws/chat/outage/", bob)
    await post(a, "before")
    for client in (a, b):
        assert (await client.receive_json_from(timeout=10))["id"] == 1
    restartable_redis.stop()
    await post(a, "during")
    delayed = await a.receive_json_from(timeout=10)
    assert (delayed["type"], delayed["code"]) == ("error", "delayed")
    restartable_redis.start()
    assert await a.receive_json_from(timeout=20) == {
        "type": "chat.recovery",
        "recovered": True,
        "count": 1,
    }
    for client in (a, b):
        frame = await client.receive_json_from(timeout=20)
        assert (frame["id"], frame["message"]) == (2, "during")
    await post(a, "after")
    for client in (a, b):
        assert (await client.receive_json_from(timeout=10))["id"] == 3
        assert await client.receive_nothing(timeout=0.3)
    await asyncio.gather(a.disconnect(), b.disconnect())
