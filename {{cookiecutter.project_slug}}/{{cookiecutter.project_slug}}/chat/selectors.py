"""Reading chat history."""

from .models import Message, Room


def message_list_recent(*, room: Room, limit: int, upto: int | None = None) -> list[Message]:
    """Returns the room's latest ``limit`` messages (numbered ``upto`` at most), oldest first."""
    messages = Message.objects.filter(room=room)
    if upto is not None:
        messages = messages.filter(seq__lte=upto)
    latest = messages.select_related("author").order_by("-seq")[:limit]
    return list(reversed(latest))


def message_list_between(*, room: Room, after: int, upto: int) -> list[Message]:
    """Returns the room's messages numbered after ``after`` and up to ``upto``, in order."""
    messages = Message.objects.filter(room=room, seq__gt=after, seq__lte=upto)
    return list(messages.select_related("author").order_by("seq"))


def room_list_recent(*, limit: int = 20) -> list[Room]:
    """Returns the rooms with the most recent messages first."""
    return list(Room.objects.filter(last_seq__gt=0).order_by("-last_seq", "name")[:limit])
