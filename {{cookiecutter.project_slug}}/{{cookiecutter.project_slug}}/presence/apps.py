"""Who is online: per room and globally, one entry per connection, crash-proof by TTL."""

from django.apps import AppConfig


class PresenceConfig(AppConfig):
    name = __name__.rpartition(".")[0]
    label = "presence"
