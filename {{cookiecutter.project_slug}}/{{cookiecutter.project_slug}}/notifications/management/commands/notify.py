"""manage.py notify <username> '<json payload>': push a notification to a user."""

import json

from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from ....core.groups import group_send_sync
from ...services import notification_event


class Command(BaseCommand):
    help = "Sends a JSON object to every notification socket of a user."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("payload", help='a JSON object, e.g. \'{"event": "hello"}\'')

    def handle(self, *args: object, username: str, payload: str, **options: object) -> None:
        try:
            data = json.loads(payload)
        except ValueError as exc:
            raise CommandError(f"payload is not valid JSON: {exc}") from None
        if not isinstance(data, dict):
            raise CommandError('payload must be a JSON object, e.g. \'{"event": "hello"}\'')
        if isinstance(get_channel_layer(), InMemoryChannelLayer):
            raise CommandError(
                "REDIS_URL is not set: the in-memory channel layer cannot reach sockets held "
                "by the server process. Set REDIS_URL to the server's Redis and try again."
            )
        user_model = get_user_model()
        try:
            user = user_model.objects.get(**{user_model.USERNAME_FIELD: username})
        except user_model.DoesNotExist:
            raise CommandError(f"no user named {username!r}") from None
        if not group_send_sync(*notification_event(user.pk, data)):
            raise CommandError("not sent: the channel layer cannot reach Redis (see the log)")
        self.stdout.write(f"Sent to {username}'s notification sockets.")
