"""Where presence lives: Redis (shared by every process) or this process's memory.

A topic ("global", or a room's group) holds one entry per connection with the time of its
last heartbeat. A user is present while at least one of their connections is; entries
whose heartbeat is older than the cutoff are pruned by whichever process looks first.
"""

import asyncio
import json
import math
import weakref
from dataclasses import dataclass, field
from typing import Any, Protocol

from django.conf import settings

from ..core.redis_hosts import Host, redis_client, shard_index

Member = dict[str, Any]  # {"id": 7, "username": "alice", "since": "2026-...Z"}


class PresenceStore(Protocol):
    async def join(self, topic: str, conn: str, member: Member, now: float) -> bool:
        """Records (or refreshes) a connection; True when its user was not present before."""

    async def leave(self, topic: str, conn: str, user_id: int) -> Member | None:
        """Forgets a connection; returns its user when that was the user's last one."""

    async def prune(self, topic: str, cutoff: float) -> list[Member]:
        """Forgets connections not refreshed since ``cutoff``; returns the users that left."""

    async def members(self, topic: str) -> list[Member]:
        """Returns the users present, one entry each."""


@dataclass
class _Topic:
    beats: dict[str, float] = field(default_factory=dict)  # conn -> last heartbeat
    owners: dict[str, int] = field(default_factory=dict)  # conn -> user id
    users: dict[int, Member] = field(default_factory=dict)  # user id -> member
    conns: dict[int, set[str]] = field(default_factory=dict)  # user id -> conns


class MemoryPresenceStore:
    """Presence for one process (no REDIS_URL): the same rules, kept in a dict."""

    def __init__(self) -> None:
        self.topics: dict[str, _Topic] = {}

    async def join(self, topic: str, conn: str, member: Member, now: float) -> bool:
        state = self.topics.setdefault(topic, _Topic())
        user_id = member["id"]
        state.beats[conn] = now
        state.owners[conn] = user_id
        state.conns.setdefault(user_id, set()).add(conn)
        if user_id in state.users:
            return False
        state.users[user_id] = member
        return True

    async def leave(self, topic: str, conn: str, user_id: int) -> Member | None:
        state = self.topics.get(topic)
        if state is None or conn not in state.owners:
            return None
        state.beats.pop(conn, None)
        state.owners.pop(conn, None)
        conns = state.conns.get(user_id, set())
        conns.discard(conn)
        if conns:
            return None
        state.conns.pop(user_id, None)
        return state.users.pop(user_id, None)

    async def prune(self, topic: str, cutoff: float) -> list[Member]:
        state = self.topics.get(topic)
        if state is None:
            return []
        stale = [conn for conn, beat in state.beats.items() if beat < cutoff]
        left = [await self.leave(topic, conn, state.owners[conn]) for conn in stale]
        return [member for member in left if member is not None]

    async def members(self, topic: str) -> list[Member]:
        state = self.topics.get(topic)
        return list(state.users.values()) if state else []


# Each script updates one topic atomically: no process sees half a join or leave.
_JOIN = """
local conns, owners, users, user = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local conn, now, uid, member, ttl = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
redis.call('ZADD', conns, now, conn)
redis.call('HSET', owners, conn, uid)
redis.call('ZADD', user, now, conn)
local joined = 0
if redis.call('HSETNX', users, uid, member) == 1 then joined = 1 end
for _, key in ipairs(KEYS) do redis.call('EXPIRE', key, ttl) end
return joined
"""

_LEAVE = """
local conns, owners, users, prefix, conn = KEYS[1], KEYS[2], KEYS[3], ARGV[1], ARGV[2]
local uid = redis.call('HGET', owners, conn)
if not uid then return false end
local user = prefix .. ':user:' .. uid
redis.call('ZREM', conns, conn)
redis.call('HDEL', owners, conn)
redis.call('ZREM', user, conn)
if redis.call('ZCARD', user) > 0 then return false end
local member = redis.call('HGET', users, uid)
redis.call('HDEL', users, uid)
redis.call('DEL', user)
return member
"""

_PRUNE = """
local conns, owners, users, prefix, cutoff = KEYS[1], KEYS[2], KEYS[3], ARGV[1], ARGV[2]
local left = {}
for _, conn in ipairs(redis.call('ZRANGEBYSCORE', conns, '-inf', '(' .. cutoff)) do
  local uid = redis.call('HGET', owners, conn)
  redis.call('ZREM', conns, conn)
  redis.call('HDEL', owners, conn)
  if uid then
    local user = prefix .. ':user:' .. uid
    redis.call('ZREM', user, conn)
    if redis.call('ZCARD', user) == 0 then
      local member = redis.call('HGET', users, uid)
      redis.call('HDEL', users, uid)
      redis.call('DEL', user)
      if member then table.insert(left, member) end
    end
  end
end
return left
"""


class RedisPresenceStore:
    """Presence shared by every server process through Redis (redis.asyncio).

    ``hosts`` as the channel layer takes them (core/redis_hosts.py): with several, each
    topic lives on one, chosen by its name. A topic's keys share a hash tag, so that its
    scripts also run on Redis Cluster.
    """

    def __init__(self, hosts: list[Host], *, ttl: int) -> None:
        self.ttl = ttl
        self.shards = []
        for host in hosts:
            # The layer's timeouts: a presence call fails (and is retried at the next
            # refresh) rather than holding up a socket.
            client = redis_client(host)
            scripts = [client.register_script(script) for script in (_JOIN, _LEAVE, _PRUNE)]
            self.shards.append((client, *scripts))

    def _shard(self, topic: str) -> tuple[Any, Any, Any, Any]:
        return self.shards[shard_index(topic, len(self.shards))]

    @staticmethod
    def _keys(topic: str) -> tuple[str, str, str, str]:
        # The braces are Redis Cluster's hash tag (the file is a template: no f-string).
        prefix = "presence:{" + topic + "}"
        return prefix, f"{prefix}:conns", f"{prefix}:owners", f"{prefix}:users"

    async def join(self, topic: str, conn: str, member: Member, now: float) -> bool:
        prefix, conns, owners, users = self._keys(topic)
        user = f"{prefix}:user:{member['id']}"
        args = [conn, now, member["id"], json.dumps(member), self.ttl]
        join = self._shard(topic)[1]
        return bool(await join(keys=[conns, owners, users, user], args=args))

    async def leave(self, topic: str, conn: str, user_id: int) -> Member | None:
        prefix, conns, owners, users = self._keys(topic)
        leave = self._shard(topic)[2]
        member = await leave(keys=[conns, owners, users], args=[prefix, conn])
        return json.loads(member) if member else None

    async def prune(self, topic: str, cutoff: float) -> list[Member]:
        prefix, conns, owners, users = self._keys(topic)
        prune = self._shard(topic)[3]
        left = await prune(keys=[conns, owners, users], args=[prefix, cutoff])
        return [json.loads(member) for member in left]

    async def members(self, topic: str) -> list[Member]:
        _, _, _, users = self._keys(topic)
        client = self._shard(topic)[0]
        return [json.loads(member) for member in await client.hvals(users)]


_memory_store = MemoryPresenceStore()
# A redis.asyncio client belongs to the event loop that created it: one store per loop.
_redis_stores: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def presence_store() -> PresenceStore:
    """Returns the store for this process: on the channel layer's Redis hosts, or memory.

    Memory when REDIS_URL is not set (the in-memory channel layer).
    """
    if not settings.REDIS_URL:
        return _memory_store
    hosts = settings.CHANNEL_LAYERS["default"]["CONFIG"]["hosts"]
    key = repr(hosts)
    stores = _redis_stores.setdefault(asyncio.get_running_loop(), {})
    if key not in stores:
        # Keys outlive the cutoff, so only a topic nobody refreshes any more expires.
        stores[key] = RedisPresenceStore(hosts, ttl=math.ceil(3 * settings.PRESENCE_CUTOFF))
    return stores[key]
