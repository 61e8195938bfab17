"""Reading chat history."""

from .models import Message, Room


def message_list_recent(*, room: Room, limit: int) -> list[Message]:
    """Returns the room's latest ``limit`` messages, oldest first."""
    latest = Message.objects.filter(room=room).select_related("author").order_by("-seq")[:limit]
    return list(reversed(latest))


def room_list_recent(*, limit: int = 20) -> list[Room]:
    """Returns the rooms with the most recent messages first."""
    return list(Room.objects.filter(last_seq__gt=0).order_by("-last_seq", "name")[:limit])
