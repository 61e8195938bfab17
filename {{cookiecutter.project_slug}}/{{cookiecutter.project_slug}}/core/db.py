"""The sockets' database calls: Channels' one database thread, which keeps its connection."""

from typing import Any

from asgiref.sync import SyncToAsync
from django.conf import settings
from django.db import close_old_connections, connections


class SocketDatabaseSyncToAsync(SyncToAsync):
    """``channels.db.database_sync_to_async`` that keeps the thread's connection between calls.

    Every consumer's database call runs in one thread, one call at a time. With
    ``CONN_MAX_AGE = 0`` (right for HTTP under ASGI, where each request has a thread of
    its own) Channels closes that thread's connection after every call and opens a new
    one for the next: most of the cost of a handshake or a message on SQLite, more on
    PostgreSQL. This thread keeps its one connection instead (settings.
    SOCKET_DATABASE_KEEP_CONNECTION). Django still drops it before a call if it saw an
    error it cannot recover from, or was left in a transaction.
    """

    def thread_handler(self, loop: Any, *args: Any, **kwargs: Any) -> Any:
        close_old_connections()
        try:
            return super().thread_handler(loop, *args, **kwargs)
        finally:
            if settings.SOCKET_DATABASE_KEEP_CONNECTION:
                for connection in connections.all(initialized_only=True):
                    connection.close_at = None
            close_old_connections()


database_sync_to_async = SocketDatabaseSyncToAsync
