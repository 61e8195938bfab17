"""Chat rules: room names, group names and writing messages."""

import hashlib
import re
import unicodedata

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import F

from .models import Message, Room

ROOM_NAME_MAX_LENGTH = 100
# Room names made only of these characters are used as they are in the group name.
_GROUP_SAFE = re.compile(r"^[A-Za-z0-9_-]{1,80}$")


class InvalidRoomName(ValueError):
    """The room name cannot be used; the message says why."""


def room_name_validate(*, name: str) -> str:
    """Returns ``name`` normalised (NFC) or raises InvalidRoomName saying what is wrong."""
    name = unicodedata.normalize("NFC", name)
    if not name or not name.strip():
        raise InvalidRoomName("room name is empty")
    if len(name) > ROOM_NAME_MAX_LENGTH:
        raise InvalidRoomName(f"room name is longer than {ROOM_NAME_MAX_LENGTH} characters")
    if name != name.strip() or any(unicodedata.category(c).startswith("C") for c in name):
        raise InvalidRoomName(
            "room name has control characters or leading or trailing white space"
        )
    if "/" in name:
        raise InvalidRoomName('room name has a "/"')
    return name


def room_group_name(*, name: str) -> str:
    """Returns the channel-layer group of a room.

    Group names allow only ASCII letters, digits, ``._-`` and fewer than 100 characters;
    any other room name (Unicode, spaces, long names) maps to a hash of itself.
    """
    if _GROUP_SAFE.match(name):
        return f"chat.{name}"
    return "chat.h." + hashlib.sha256(name.encode()).hexdigest()[:48]


def room_get_or_create(*, name: str) -> Room:
    room, _ = Room.objects.get_or_create(name=name)
    return room


def rooms_get_or_create(*, names: set[str]) -> dict[str, Room]:
    """Returns the rooms of ``names`` by name, creating those that do not exist yet."""
    rooms = {room.name: room for room in Room.objects.filter(name__in=names)}
    for name in names - rooms.keys():
        rooms[name] = room_get_or_create(name=name)
    return rooms


def room_join_allowed(*, room: Room, user: AbstractBaseUser) -> bool:
    """Returns whether ``user`` may join ``room``: any room that is not private, or as a member."""
    return not room.is_private or room.members.filter(pk=user.pk).exists()


def message_create(
    *, room: Room, author: AbstractBaseUser, body: str, ref: str = ""
) -> tuple[Message, bool]:
    """Stores a message under the room's next sequence number; returns it and whether it is new.

    A message of ``author`` in ``room`` with the same non-empty ``ref`` is a retry of one
    already stored: that one is returned, and nothing is stored.
    """
    if ref:
        stored = Message.objects.filter(room=room, author=author, ref=ref).first()
        if stored is not None:
            return stored, False
    try:
        with transaction.atomic():
            # The UPDATE locks the room's row until commit: concurrent writers queue, so
            # sequence numbers never repeat or skip.
            Room.objects.filter(pk=room.pk).update(last_seq=F("last_seq") + 1)
            seq = Room.objects.values_list("last_seq", flat=True).get(pk=room.pk)
            message = Message.objects.create(room=room, seq=seq, author=author, body=body, ref=ref)
    except IntegrityError:
        if not ref:
            raise
        # The same retry, stored by another socket a moment ago.
        return Message.objects.get(room=room, author=author, ref=ref), False
    return message, True
