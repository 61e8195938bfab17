"""Socket extensions: optional features (presence) that ride along every consumer."""

import functools
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.utils.module_loading import import_string

if TYPE_CHECKING:
    from .consumers import BaseConsumer


class SocketExtension:
    """Started once a socket is connected, stopped when it goes; handles its own events.

    Event handlers must not touch the database: they skip Channels' thread-pool hop.
    """

    events: frozenset[str] = frozenset()

    def __init__(self, consumer: "BaseConsumer") -> None:
        self.consumer = consumer

    async def started(self) -> None:
        """Runs after the consumer accepted the socket and sent its first frames."""

    async def stopped(self) -> None:
        """Runs when the socket disconnects (not guaranteed after a crash)."""

    async def event(self, message: dict[str, Any]) -> None:
        """Handles a channel-layer event whose type is in ``events``."""


@functools.cache
def _extension_classes(paths: tuple[str, ...]) -> tuple[type[SocketExtension], ...]:
    return tuple(import_string(path) for path in paths)


def extensions_for(consumer: "BaseConsumer") -> list[SocketExtension]:
    """Returns a new instance of every extension in settings.SOCKET_EXTENSIONS."""
    paths = tuple(getattr(settings, "SOCKET_EXTENSIONS", ()))
    return [cls(consumer) for cls in _extension_classes(paths)]
