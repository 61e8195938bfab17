"""Losing a private room closes the user's sockets on that room (4003), on both layers."""

import json

import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.db import transaction

from tests.fixtures import joined, login, receive_close

from ..models import Room
from ..selectors import room_admitted_pairs
from ..services import room_group_name

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("layer")]


@pytest.fixture
def users(make_user) -> dict:
    return {name: make_user(name) for name in ("carol", "dave", "erin")}


@pytest.fixture
def staff(users) -> Room:
    """A private room of carol and dave."""
    room = Room.objects.create(name="staff", is_private=True)
    room.members.add(users["carol"], users["dave"])
    return room


async def socket_of(user, room: str):
    return await joined(f"/ws/chat/{room}/", await sync_to_async(login)(user))


async def stays_open(client) -> None:
    """Asserts that nothing closed ``client`` and that it still hears its room."""
    assert await client.receive_nothing(timeout=0.3)
    await client.send_to(text_data=json.dumps({"message": "still here"}))
    while (frame := await client.receive_json_from(timeout=5))["type"] != "chat.message":
        pass
    assert frame["message"] == "still here"
    await client.disconnect()


def remove(how: str, room: Room, users: dict) -> None:
    carol, dave = users["carol"], users["dave"]
    if how == "members.remove":  # the admin's members widget saves this way too
        room.members.remove(carol)
    elif how == "members.set":
        room.members.set([dave])
    elif how == "user.rooms.remove":
        carol.rooms.remove(room)
    elif how == "user.rooms.clear":
        carol.rooms.clear()
    elif how == "members.clear":
        room.members.clear()


@pytest.mark.parametrize(
    ("how", "closed"),
    [
        ("members.remove", {"carol"}),
        ("members.set", {"carol"}),
        ("user.rooms.remove", {"carol"}),
        ("user.rooms.clear", {"carol"}),
        ("members.clear", {"carol", "dave"}),
    ],
)
async def test_a_member_removed_from_a_private_room_loses_its_sockets_there(
    users, staff, how, closed
):
    """It closes the removed member's sockets on the room with 4003, every one of them;
    their sockets on other rooms and the remaining members' stay open."""
    carol, dave = users["carol"], users["dave"]
    in_staff = {"carol": [await socket_of(carol, "staff"), await socket_of(carol, "staff")]}
    in_staff["dave"] = [await socket_of(dave, "staff")]
    elsewhere = await socket_of(carol, "lobby")

    await sync_to_async(remove)(how, staff, users)

    for name, sockets in in_staff.items():
        for client in sockets:
            if name in closed:
                assert await receive_close(client) == {
                    "type": "websocket.close",
                    "code": 4003,
                    "reason": "this room is private",
                }
            else:
                await stays_open(client)
    await stays_open(elsewhere)


async def test_making_a_room_private_closes_the_sockets_of_non_members(users):
    """It closes with 4003 the sockets of users who are not members when a room becomes
    private, and keeps the members' sockets."""
    room = await Room.objects.acreate(name="town")
    carol, erin = users["carol"], users["erin"]
    member, outsider = await socket_of(carol, "town"), await socket_of(erin, "town")

    def make_private() -> None:
        room.members.add(carol)
        room.is_private = True
        room.save()

    await sync_to_async(make_private)()
    assert (await receive_close(outsider))["code"] == 4003
    await stays_open(member)


async def test_public_rooms_and_rolled_back_changes_close_nothing(users, staff):
    """Removing a member of a public room closes nothing, nor does a removal from a
    private room that rolls back."""
    public = await Room.objects.acreate(name="square")
    carol = users["carol"]
    await sync_to_async(public.members.add)(carol)
    in_public, in_staff = await socket_of(carol, "square"), await socket_of(carol, "staff")

    def remove_and_roll_back() -> None:
        public.members.remove(carol)
        with pytest.raises(RuntimeError), transaction.atomic():
            staff.members.remove(carol)
            raise RuntimeError("rolled back")

    await sync_to_async(remove_and_roll_back)()
    await stays_open(in_public)
    await stays_open(in_staff)


@pytest.mark.parametrize(
    "user_ids", ["everyone", [{"pk": 1}], None, [None, "1"], list(range(1000))]
)
async def test_forged_access_events_close_only_sockets_that_lost_the_room(users, staff, user_ids):
    """Whatever an access event names, a socket closes only if its user lost the room."""
    member = await socket_of(users["carol"], "staff")
    event = {"type": "chat.access_changed", "user_ids": user_ids}
    await get_channel_layer().group_send(room_group_name(name="staff"), event)
    await stays_open(member)


async def test_a_check_that_fails_asks_the_client_to_come_back(users, staff, monkeypatch):
    """When access cannot be checked (the database away) the socket closes with 4013, not
    4003: its next handshake checks again."""
    from .. import selectors

    member = await socket_of(users["carol"], "staff")

    def fail(**kwargs: object) -> set:
        raise RuntimeError("the database is away")

    monkeypatch.setattr(selectors, "room_admitted_pairs", fail)
    await sync_to_async(staff.members.remove)(users["carol"])
    assert (await receive_close(member))["code"] == 4013


def test_access_is_checked_for_many_sockets_in_two_queries(
    users, staff, django_assert_num_queries
):
    """One check covers every socket of a process: public rooms, members and others."""
    public = Room.objects.create(name="square")
    carol, dave, erin = users["carol"], users["dave"], users["erin"]
    pairs = {(room.pk, user.pk) for room in (staff, public) for user in (carol, dave, erin)}
    pairs.add((999999, carol.pk))  # a room deleted since
    with django_assert_num_queries(2):
        admitted = room_admitted_pairs(pairs=pairs)
    assert admitted == pairs - {(staff.pk, erin.pk), (999999, carol.pk)}
