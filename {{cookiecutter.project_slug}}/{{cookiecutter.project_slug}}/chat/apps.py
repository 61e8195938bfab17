"""Chat rooms: the article's chat, persisted."""

from django.apps import AppConfig


class ChatConfig(AppConfig):
    name = __name__.rpartition(".")[0]
    label = "chat"

    def ready(self) -> None:
        from . import signals  # noqa: F401
