"""Rooms and their messages."""

from django.conf import settings
from django.db import models
from django.utils import timezone


class Room(models.Model):
    name = models.CharField(max_length=100, unique=True)
    # The sequence number of the room's latest message; the next one gets last_seq + 1.
    last_seq = models.PositiveBigIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    # A private room admits its members only (sockets of others close with 4003).
    is_private = models.BooleanField(default=False)
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="rooms")

    def __str__(self) -> str:
        return self.name


class Message(models.Model):
    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="messages")
    # Increases by one with every message of the room: clients order and de-duplicate by it.
    seq = models.PositiveBigIntegerField()
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="chat_messages"
    )
    body = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)
    # The client's own reference for the post, if it gave one: a post retried with the
    # same ref (after a reconnect) is stored once.
    ref = models.CharField(max_length=64, blank=True, default="")

    class Meta:
        ordering = ["room", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["room", "seq"], name="chat_message_room_seq_unique"),
            models.UniqueConstraint(
                fields=["room", "author", "ref"],
                condition=~models.Q(ref=""),
                name="chat_message_room_author_ref_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.room.name}#{self.seq}"
