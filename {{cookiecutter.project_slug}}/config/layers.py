"""Redis clients' settings: the channel layer (and presence) and the cache, or memory."""

from typing import Any

from redis.asyncio.retry import Retry
from redis.backoff import ExponentialWithJitterBackoff


def channel_layers(
    redis_url: str, *, max_connections: int = 1000, group_expiry: int = 86400
) -> dict[str, Any]:
    """Returns the CHANNEL_LAYERS setting for ``redis_url`` (empty: in-memory).

    Several URLs separated by commas: the layer (and presence) shard over them. A host
    can also be a Sentinel-managed master: replace its entry below with
    ``{"sentinels": [("sentinel-1", 26379), ...], "master_name": "main", **options}``.
    ``group_expiry`` is the in-memory layer's: the Redis one keeps a membership as long
    as its consumer lives.
    """
    if not redis_url:
        return {
            "default": {
                "BACKEND": "channels.layers.InMemoryChannelLayer",
                "CONFIG": {"capacity": 1000, "expiry": 60, "group_expiry": group_expiry},
            }
        }
    hosts = [_host(url.strip(), max_connections) for url in redis_url.split(",") if url.strip()]
    return {
        "default": {
            "BACKEND": "{{ cookiecutter.project_slug }}.core.channel_layer.PubSubChannelLayer",
            "CONFIG": {
                "hosts": hosts,
                # Messages a consumer may have waiting in its queue (per channel).
                "capacity": 1000,
            },
        }
    }


def redis_cache(redis_url: str, *, max_connections: int) -> dict[str, Any]:
    """Returns the default CACHES entry: Redis at ``redis_url`` (empty: this process's memory).

    Django's Redis cache is synchronous (views, in threads): its pool is a waiting one of
    ``max_connections``, with the layer's timeouts, so a cache call fails within seconds
    when Redis is away instead of hanging a request.
    """
    if not redis_url:
        return {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    return {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": redis_url,
        "OPTIONS": {
            "pool_class": "redis.BlockingConnectionPool",
            "max_connections": max_connections,
            "timeout": 30,
            "socket_timeout": 10,
            "socket_connect_timeout": 3,
        },
    }


def _host(url: str, max_connections: int) -> dict[str, Any]:
    return {
        "address": url,
        # redis-py's own defaults are 5 s and a pool of 100, which turns a burst of
        # handshakes into errors; every timeout here is set on purpose.
        "socket_timeout": 10,
        "socket_connect_timeout": 3,
        "socket_keepalive": True,
        # The subscription connection pings Redis when it has been quiet this long, so
        # a dead connection is found and replaced.
        "health_check_interval": 15,
        # Connections per process and client (the layer's, presence's): a burst past them
        # (a thousand sockets joining or leaving at once) waits its turn for up to 30 s.
        "max_connections": max_connections,
        "pool_timeout": 30,
        # A command retries a lost connection twice within about a second, then fails:
        # redis-py's default retries keep a handshake waiting for seconds while Redis is
        # away, and the subscription reader retries on its own, with backoff.
        "retry": Retry(ExponentialWithJitterBackoff(cap=0.5, base=0.05), 2),
    }
