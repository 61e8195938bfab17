"""Reading chat history."""

from django.db.models import Max

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
    """Returns the rooms with messages, the latest activity first, each with ``last_at``
    (its latest message's time) and ``last_seq`` (its number of messages)."""
    rooms = Room.objects.filter(last_seq__gt=0).annotate(last_at=Max("messages__created_at"))
    return list(rooms.order_by("-last_at", "name")[:limit])


def room_admitted_pairs(*, pairs: set[tuple[int, int]]) -> set[tuple[int, int]]:
    """Returns which ``(room id, user id)`` pairs may be together now: the room is public,
    or the user is a member. A room that no longer exists admits nobody.

    Two queries for any number of pairs (every socket of a room just made private).
    """
    privacy = dict(
        Room.objects.filter(pk__in={room for room, _ in pairs}).values_list("pk", "is_private")
    )
    members = set(
        Room.objects.filter(
            pk__in=[room for room, private in privacy.items() if private],
            members__in={user for _, user in pairs},
        ).values_list("pk", "members")
    )
    return {
        (room, user)
        for room, user in pairs
        if room in privacy and (not privacy[room] or (room, user) in members)
    }
