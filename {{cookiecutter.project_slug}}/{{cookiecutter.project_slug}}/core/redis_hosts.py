"""Redis hosts as the channel layer and presence take them: URLs, dicts, Sentinel; sharding."""

import zlib
from typing import Any

from redis import asyncio as aioredis
from redis.asyncio.sentinel import Sentinel

Host = str | dict[str, Any]


def redis_client(host: Host) -> aioredis.Redis:
    """Returns an asyncio client for one host entry, as channels-redis takes them.

    A URL; a dict with ``address`` and redis-py connection options; or a dict with
    ``sentinels`` (``[(host, port), ...]``), ``master_name`` and optionally
    ``sentinel_kwargs``, whose client follows the master Sentinel names. ``pool_timeout``
    (not for Sentinel): a pool of ``max_connections`` that callers wait for when it is all
    in use.
    """
    options = {"address": host} if isinstance(host, str) else dict(host)
    pool_timeout = options.pop("pool_timeout", None)
    if "sentinels" in options:
        sentinels = options.pop("sentinels")
        master = options.pop("master_name")
        sentinel = Sentinel(sentinels, sentinel_kwargs=options.pop("sentinel_kwargs", None))
        return sentinel.master_for(master, **options)
    if pool_timeout is not None:
        # A burst past max_connections waits up to pool_timeout seconds for a free
        # connection, instead of failing at once (redis-py's default pool).
        pool = aioredis.BlockingConnectionPool.from_url(
            options.pop("address"), timeout=pool_timeout, **options
        )
        return aioredis.Redis.from_pool(pool)  # closes the pool with the client
    return aioredis.Redis.from_url(options.pop("address"), **options)


def shard_index(name: str, shards: int) -> int:
    """The shard a group, inbox or topic lives on: the same in every process."""
    return zlib.crc32(name.encode()) % shards
