"""Presence through the real ASGI application, on both channel layers and stores."""

import asyncio
import json
import math
import time

import pytest

from tests.fixtures import communicator, login

from .. import extension
from ..extension import GLOBAL
from ..stores import _memory_store, presence_store

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("layer")]


@pytest.fixture(autouse=True)
def fast_presence(settings):
    # Short, with a wide margin: a loaded machine must not make live users look dead.
    settings.PRESENCE_REFRESH_INTERVAL = 0.25
    settings.PRESENCE_CUTOFF = 2.0
    _memory_store.topics.clear()
    extension._last_failure = -math.inf  # no failed heartbeat of an earlier test holds prunes


@pytest.fixture
def users(make_user) -> dict[str, object]:
    return {name: login(make_user(name)) for name in ("alice", "bob", "carol")}


async def join_room(credentials, room: str = "lobby", *, presence: bool = True):
    path = f"/ws/chat/{room}/" + ("?presence=1" if presence else "")
    client = communicator(path, login=credentials)
    assert (await client.connect())[0]
    return client


async def settled(client) -> None:
    """Waits until the consumer finished connecting (its presence join included).

    A consumer handles one message at a time: the answer to a frame sent now comes after
    everything ``connect`` does, so presence is recorded once the answer arrives.
    """
    await client.send_to(text_data="{}")
    while (await client.receive_json_from(timeout=5))["type"] != "error":
        pass


async def frames_of(client, kind: str, within: float = 5.0) -> dict:
    """Returns the next frame of type ``kind``, skipping chat frames."""
    deadline = time.monotonic() + within
    while True:
        frame = await client.receive_json_from(timeout=max(0.01, deadline - time.monotonic()))
        if frame["type"] == kind:
            return frame


def names(members: list[dict]) -> list[str]:
    return sorted(member["username"] for member in members)


async def test_a_joining_client_gets_the_state_and_members_get_a_diff(users):
    """It sends presence.state to who joins and presence.diff (that user only) to the rest."""
    alice = await join_room(users["alice"])
    assert names((await frames_of(alice, "presence.state"))["users"]) == ["alice"]
    bob = await join_room(users["bob"])
    state = await frames_of(bob, "presence.state")
    assert names(state["users"]) == ["alice", "bob"]
    assert {"id", "username", "since"} <= state["users"][0].keys()
    diff = await frames_of(alice, "presence.diff")
    assert (names(diff["joins"]), diff["leaves"]) == (["bob"], [])
    await bob.disconnect()
    diff = await frames_of(alice, "presence.diff")
    assert (diff["joins"], names(diff["leaves"])) == ([], ["bob"])
    await alice.disconnect()


async def test_a_second_tab_is_not_a_join_and_closing_one_of_two_is_not_a_leave(users):
    """It reports a user once however many tabs they have, and leaves after the last one."""
    alice = await join_room(users["alice"])
    await frames_of(alice, "presence.state")
    tab1 = await join_room(users["bob"])
    assert names((await frames_of(alice, "presence.diff"))["joins"]) == ["bob"]
    tab2 = await join_room(users["bob"])
    await frames_of(tab2, "presence.state")  # the second tab is recorded
    await tab1.disconnect()
    assert await alice.receive_nothing(timeout=0.5)
    await tab2.disconnect()
    assert names((await frames_of(alice, "presence.diff"))["leaves"]) == ["bob"]
    await alice.disconnect()


async def test_article_clients_get_chat_frames_only_but_count_as_present(users):
    """It sends no presence frame to a socket that did not ask, yet counts its user."""
    article = await join_room(users["bob"], presence=False)
    await settled(article)
    alice = await join_room(users["alice"])
    assert names((await frames_of(alice, "presence.state"))["users"]) == ["alice", "bob"]
    await alice.send_to(text_data=json.dumps({"message": "hi"}))
    frame = await article.receive_json_from(timeout=2)
    assert frame["type"] == "chat.message"
    assert await article.receive_nothing(timeout=0.3)
    await article.disconnect()
    await alice.disconnect()


async def test_a_user_connected_longer_than_the_cutoff_stays_online(users, settings):
    """It keeps a user online past the cutoff (the article's 30-second bug)."""
    alice = await join_room(users["alice"])
    await frames_of(alice, "presence.state")
    bob = await join_room(users["bob"])
    await frames_of(alice, "presence.diff")
    await asyncio.sleep(2 * settings.PRESENCE_CUTOFF)
    carol = await join_room(users["carol"])
    assert names((await frames_of(carol, "presence.state"))["users"]) == ["alice", "bob", "carol"]
    diff = await frames_of(alice, "presence.diff")
    assert (names(diff["joins"]), diff["leaves"]) == (["carol"], [])
    for client in (alice, bob, carol):
        await client.disconnect()


async def test_connections_of_a_dead_process_leave_once_past_the_cutoff(users, settings):
    """It prunes a connection whose heartbeats stopped (its process died) and says so."""
    alice = await join_room(users["alice"])
    await frames_of(alice, "presence.state")
    room = "chat.lobby"
    ghost = {"id": 999, "username": "ghost", "since": "2026-01-01T00:00:00Z"}
    # A connection of a process that was killed: its last heartbeat is just past the cutoff.
    last_seen = time.time() - settings.PRESENCE_CUTOFF - 0.01
    await presence_store().join(room, "specific.dead!conn", ghost, last_seen)
    diff = await frames_of(alice, "presence.diff", within=30)
    assert (diff["joins"], names(diff["leaves"])) == ([], ["ghost"])
    await alice.disconnect()


async def test_the_leaves_a_joining_socket_prunes_are_published(users, settings):
    """A socket that opens prunes its topic before reading it: the others hear who left."""
    settings.PRESENCE_REFRESH_INTERVAL = 30  # no heartbeat of alice's prunes first
    settings.PRESENCE_CUTOFF = 60
    alice = await join_room(users["alice"])
    await frames_of(alice, "presence.state")
    ghost = {"id": 999, "username": "ghost", "since": "2026-01-01T00:00:00Z"}
    await presence_store().join("chat.lobby", "specific.dead!conn", ghost, time.time() - 61)
    bob = await join_room(users["bob"])
    assert names((await frames_of(bob, "presence.state"))["users"]) == ["alice", "bob"]
    diffs = [await frames_of(alice, "presence.diff") for _ in range(2)]
    assert sorted(names(d["joins"]) + names(d["leaves"]) for d in diffs) == [["bob"], ["ghost"]]
    await asyncio.gather(alice.disconnect(), bob.disconnect())


async def test_nobody_is_pruned_until_a_cutoff_after_a_failed_heartbeat(users, settings):
    """After Redis was away, entries are stale until their sockets' next heartbeat: no
    prune for a whole cutoff, so no live user is shown leaving; a dead one then is."""
    alice = await join_room(users["alice"])
    await frames_of(alice, "presence.state")
    ghost = {"id": 999, "username": "ghost", "since": "2026-01-01T00:00:00Z"}
    await presence_store().join("chat.lobby", "specific.dead!conn", ghost, time.time() - 60)
    extension._heartbeat_failed()  # as a refresh does when Redis is away
    failed = time.monotonic()
    diff = await frames_of(alice, "presence.diff", within=30)
    assert names(diff["leaves"]) == ["ghost"]
    assert time.monotonic() - failed >= settings.PRESENCE_CUTOFF
    await alice.disconnect()


async def test_one_join_sends_one_small_diff_to_each_member_whatever_the_room_size(users):
    """It sends each member one diff naming the newcomer only, not the whole list."""
    members = []
    for _ in range(5):
        # One at a time: a socket's presence.state means its own join is recorded.
        members.append(await join_room(users["alice"]))
        await frames_of(members[-1], "presence.state")
    bob = await join_room(users["bob"])
    for member in members:
        diff = await frames_of(member, "presence.diff")
        assert names(diff["joins"]) == ["bob"]
        assert await member.receive_nothing(timeout=0.05)
    for client in [*members, bob]:
        await client.disconnect()


async def test_the_global_socket_lists_users_connected_anywhere(users):
    """ws/presence/ gives the online list, then joins and leaves from every socket."""
    alice = await join_room(users["alice"], room="elsewhere", presence=False)
    await settled(alice)
    watcher = communicator("/ws/presence/", login=users["carol"])
    assert (await watcher.connect())[0]
    assert names((await frames_of(watcher, "presence.state"))["users"]) == ["alice", "carol"]
    notifications = communicator("/ws/notifications/", login=users["bob"])
    assert (await notifications.connect())[0]
    await settled(notifications)
    assert names((await frames_of(watcher, "presence.diff"))["joins"]) == ["bob"]
    await alice.disconnect()
    assert names((await frames_of(watcher, "presence.diff"))["leaves"]) == ["alice"]
    await notifications.disconnect()
    await watcher.disconnect()
    assert GLOBAL == "global"
