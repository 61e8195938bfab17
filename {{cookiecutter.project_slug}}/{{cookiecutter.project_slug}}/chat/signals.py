"""Closes a room's sockets of users who may no longer be in it (4003), on every process.

A member removed from a private room, or a room made private: the room's group hears of
it after the commit, and each socket concerned checks its user against the database
(ChatConsumer.chat_access_changed). Nothing is sent for public rooms.
"""

from typing import Any

from django.db import transaction
from django.db.models.signals import m2m_changed, post_save
from django.dispatch import receiver

from ..core.groups import group_send_many_sync
from .models import Room
from .services import room_group_name

ACCESS_CHANGED = "chat.access_changed"


def _announce(rooms: list[str], user_ids: list[int] | None) -> None:
    """After the commit, tells the sockets of ``rooms`` to check access: those of
    ``user_ids``, or all of them (None)."""
    event: dict[str, Any] = {"type": ACCESS_CHANGED}
    if user_ids is not None:
        event["user_ids"] = user_ids
    messages = [(room_group_name(name=name), event) for name in rooms]
    if messages:
        transaction.on_commit(lambda: group_send_many_sync(messages))


@receiver(m2m_changed, sender=Room.members.through)
def close_sockets_of_removed_members(
    sender: Any, instance: Any, action: str, reverse: bool, pk_set: set | None, **kwargs: Any
) -> None:
    # Both run inside the manager's transaction: the sockets check after the rows are gone.
    if action not in ("post_remove", "pre_clear"):
        return
    if not reverse:  # room.members.remove(user, ...) or room.members.clear()
        if instance.is_private:
            _announce([instance.name], sorted(pk_set) if pk_set is not None else None)
        return
    # user.rooms.remove(room, ...) or user.rooms.clear(): instance is the user.
    rooms = Room.objects.filter(is_private=True)
    rooms = rooms.filter(pk__in=pk_set) if pk_set is not None else rooms.filter(members=instance)
    _announce(list(rooms.values_list("name", flat=True)), [instance.pk])


@receiver(post_save, sender=Room)
def close_sockets_of_non_members(
    sender: Any, instance: Room, created: bool, update_fields: Any, **kwargs: Any
) -> None:
    # Any save of a private room (not only the one that made it private): a check of
    # every socket of the room costs each process a query or two (ChatConsumer).
    if created or not instance.is_private:
        return
    if update_fields is None or "is_private" in update_fields:
        _announce([instance.name], None)
