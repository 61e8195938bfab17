"""Logging in and out over HTTP, and what that means for open sockets."""

from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = __name__.rpartition(".")[0]
    label = "accounts"

    def ready(self) -> None:
        from . import signals  # noqa: F401
