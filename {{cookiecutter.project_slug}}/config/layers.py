"""Channel layer settings: Redis when a URL is given, in-memory otherwise."""

from typing import Any


def channel_layers(
    redis_url: str, *, group_expiry: int = 86400, max_connections: int = 1000
) -> dict[str, Any]:
    """Returns the CHANNEL_LAYERS setting for ``redis_url`` (empty: in-memory)."""
    if not redis_url:
        return {
            "default": {
                "BACKEND": "channels.layers.InMemoryChannelLayer",
                "CONFIG": {"capacity": 1000, "expiry": 60, "group_expiry": group_expiry},
            }
        }
    host = {
        "address": redis_url,
        # redis-py 8 times sockets out after 5 s, as long as the layer's blocking pop
        # waits, so every idle consumer would die; keep the timeout well above it.
        "socket_timeout": 30,
        "socket_connect_timeout": 5,
        "socket_keepalive": True,
        # The default pool of 100 turns a burst of handshakes into HTTP 500s.
        "max_connections": max_connections,
    }
    return {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                "hosts": [host],
                # Per server process; at the default of 100 a burst drops most messages.
                "capacity": 1000,
                "expiry": 60,
                # Counted from the join: sockets live no longer (WEBSOCKET_MAX_AGE).
                "group_expiry": group_expiry,
            },
        }
    }
