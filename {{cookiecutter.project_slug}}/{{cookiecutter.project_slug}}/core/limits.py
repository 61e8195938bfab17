"""What one client may do: frames per second (token buckets) and open sockets per user.

A socket's own bucket lives in its consumer. A user's bucket and socket count are shared by
every process through Redis when REDIS_URL is set (the first host of the channel layer's),
or kept in this process's memory without it. Either way the per-user checks fail open: when
Redis cannot answer, the frame or socket is let through, logged and counted.
"""

import asyncio
import logging
import math
import time
import weakref
from dataclasses import dataclass, field
from typing import Protocol

from django.conf import settings

from .metrics import LIMITED, REDIS_ERRORS
from .redis_hosts import redis_client

logger = logging.getLogger(__name__)


@dataclass(slots=True)
class TokenBucket:
    """``rate`` tokens a second, holding at most ``burst``; each frame takes one."""

    rate: float
    burst: float
    tokens: float = field(init=False)
    stamp: float = field(init=False)

    def __post_init__(self) -> None:
        self.tokens = self.burst
        self.stamp = time.monotonic()

    def take(self) -> float:
        """Takes a token: 0.0 if there was one, else the seconds until there is one."""
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.rate


class UserLimits(Protocol):
    async def take(self, user_id: int, rate: float, burst: int) -> float: ...

    async def socket_opened(self, user_id: int, socket: str, cap: int) -> bool: ...

    async def socket_renewed(self, user_id: int, socket: str) -> None: ...

    async def socket_closed(self, user_id: int, socket: str) -> None: ...


class MemoryUserLimits:
    """Per-user limits of this one process."""

    def __init__(self) -> None:
        self.buckets: dict[int, TokenBucket] = {}
        self.sockets: dict[int, set[str]] = {}

    async def take(self, user_id: int, rate: float, burst: int) -> float:
        bucket = self.buckets.get(user_id)
        if bucket is None:
            bucket = self.buckets[user_id] = TokenBucket(rate, burst)
        return bucket.take()

    async def socket_opened(self, user_id: int, socket: str, cap: int) -> bool:
        sockets = self.sockets.setdefault(user_id, set())
        if len(sockets) >= cap:
            return False
        sockets.add(socket)
        return True

    async def socket_renewed(self, user_id: int, socket: str) -> None:
        """Nothing to renew: this process's sockets cannot outlive it."""

    async def socket_closed(self, user_id: int, socket: str) -> None:
        sockets = self.sockets.get(user_id, set())
        sockets.discard(socket)
        if not sockets:
            self.sockets.pop(user_id, None)
            self.buckets.pop(user_id, None)


# A generic cell rate algorithm: the key holds the time at which the user's bucket is full
# again (the "theoretical arrival time"), in Redis' own clock, so that every process
# agrees. Returns 0 (taken) or the milliseconds until a token is there.
_TAKE = """
local now_parts = redis.call('TIME')
local now = now_parts[1] * 1000 + math.floor(now_parts[2] / 1000)
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local next_tat = tat + interval
if next_tat - now > tolerance then
  return next_tat - now - tolerance
end
redis.call('SET', KEYS[1], next_tat, 'PX', next_tat - now)
return 0
"""
# A sorted set of the user's sockets, scored by when each lapses unless renewed: a socket
# of a process that died leaves within SOCKET_ENTRY_TTL. ARGV[2] < 0 renews without a check.
_OPEN = """
local now_parts = redis.call('TIME')
local now = now_parts[1] * 1000 + math.floor(now_parts[2] / 1000)
local cap = tonumber(ARGV[2])
local ttl = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if cap >= 0 and not redis.call('ZSCORE', KEYS[1], ARGV[1])
    and redis.call('ZCARD', KEYS[1]) >= cap then
  return 0
end
redis.call('ZADD', KEYS[1], now + ttl, ARGV[1])
redis.call('PEXPIRE', KEYS[1], ttl)
return 1
"""
# Seconds a socket counts towards its user's cap unless its process renews it.
SOCKET_ENTRY_TTL = 120.0
# How often each socket renews its entry: a third of the TTL.
SOCKET_RENEW_INTERVAL = SOCKET_ENTRY_TTL / 3


class RedisUserLimits:
    """Per-user limits shared by every process, in Redis."""

    def __init__(self, host: str | dict) -> None:
        self.client = redis_client(host)
        self._take = self.client.register_script(_TAKE)
        self._open = self.client.register_script(_OPEN)

    @staticmethod
    def _key(user_id: int, what: str) -> str:
        # The braces are Redis Cluster's hash tag (the file is a template: no f-string).
        return "limits:{" + str(int(user_id)) + "}:" + what

    async def take(self, user_id: int, rate: float, burst: int) -> float:
        interval = 1000 / rate
        wait = await self._take(
            keys=[self._key(user_id, "rate")], args=[interval, interval * burst]
        )
        return float(wait) / 1000

    async def socket_opened(self, user_id: int, socket: str, cap: int) -> bool:
        ttl = math.ceil(SOCKET_ENTRY_TTL * 1000)
        return bool(
            await self._open(keys=[self._key(user_id, "sockets")], args=[socket, cap, ttl])
        )

    async def socket_renewed(self, user_id: int, socket: str) -> None:
        ttl = math.ceil(SOCKET_ENTRY_TTL * 1000)
        await self._open(keys=[self._key(user_id, "sockets")], args=[socket, -1, ttl])

    async def socket_closed(self, user_id: int, socket: str) -> None:
        await self.client.zrem(self._key(user_id, "sockets"), socket)


_memory = MemoryUserLimits()
# A redis.asyncio client belongs to the event loop that created it: one per loop.
_redis: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def user_limits() -> UserLimits:
    """This process's per-user limits: in Redis when REDIS_URL is set, else in memory."""
    if not settings.REDIS_URL:
        return _memory
    host = settings.CHANNEL_LAYERS["default"]["CONFIG"]["hosts"][0]
    stores = _redis.setdefault(asyncio.get_running_loop(), {})
    key = repr(host)
    if key not in stores:
        stores[key] = RedisUserLimits(host)
    return stores[key]


class SocketLimits:
    """One socket's limits: its message rate, its user's, and its place in the user's count.

    The settings are read when it is made: WEBSOCKET_MESSAGE_RATE and _BURST, USER_MESSAGE_RATE
    and _BURST, WEBSOCKET_RATE_LIMIT_STRIKES, USER_MAX_SOCKETS (0 turns one off).
    """

    __slots__ = ("bucket", "counted", "socket", "store", "strikes", "user_id")

    def __init__(self, user_id: int, socket: str) -> None:
        self.user_id = user_id
        self.socket = socket
        self.store = user_limits()
        # Made at the socket's first frame: most sockets only listen.
        self.bucket: TokenBucket | None = None
        self.strikes = 0
        # Whether the socket holds a place in its user's count (to give back at the end).
        self.counted = False

    async def admitted(self) -> bool:
        """Takes a place in the user's count of open sockets: False when they are all taken."""
        cap = settings.USER_MAX_SOCKETS
        if not cap:
            return True
        opened = self.store.socket_opened(self.user_id, self.socket, cap)
        if not await fail_open("the socket cap", opened, True):
            LIMITED.labels("sockets").inc()
            return False
        self.counted = True
        return True

    async def renewed(self) -> None:
        """Renews the socket's place (every SOCKET_RENEW_INTERVAL), so that it does not lapse."""
        await fail_open(
            "the socket cap", self.store.socket_renewed(self.user_id, self.socket), None
        )

    async def closed(self) -> None:
        if self.counted:
            await self.store.socket_closed(self.user_id, self.socket)

    async def frame_wait(self) -> float:
        """Takes a frame from the socket's bucket, then the user's: 0.0, or seconds to wait.

        A frame refused counts as a strike; ``struck_out`` says when there were too many
        in a row.
        """
        wait, rate = 0.0, settings.WEBSOCKET_MESSAGE_RATE
        if rate:
            if self.bucket is None:
                self.bucket = TokenBucket(rate, settings.WEBSOCKET_MESSAGE_BURST)
            wait = self.bucket.take()
        if not wait and settings.USER_MESSAGE_RATE:
            rate, burst = settings.USER_MESSAGE_RATE, settings.USER_MESSAGE_BURST
            take = self.store.take(self.user_id, rate, burst)
            wait = await fail_open("the user's message rate", take, 0.0)
        if wait:
            LIMITED.labels("messages").inc()
            self.strikes += 1
        else:
            self.strikes = 0
        return wait

    @property
    def struck_out(self) -> bool:
        return self.strikes > settings.WEBSOCKET_RATE_LIMIT_STRIKES


async def fail_open(what: str, call, default):
    """Runs a per-user check; when Redis cannot answer, logs, counts and returns ``default``."""
    try:
        return await call
    except Exception as exc:
        REDIS_ERRORS.labels("limits").inc()
        logger.warning("limits: %s not checked (%r); let through", what, exc)
        return default
