"""Counters in the cache, over windows aligned to the clock: what the throttles count with.

The cache is Redis when REDIS_URL is set, so every process counts on the same keys; the
callers decide what to do when it cannot answer (the throttles let the request through).
"""

import logging
import math
import time
from dataclasses import dataclass

import redis
from django.core.cache import cache

from .metrics import REDIS_ERRORS

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Window:
    """The window of ``seconds`` that holds now: its number since the epoch, and the whole
    seconds until the next one starts (at least 1), which a refusal can tell the client."""

    number: int
    retry_after: int


def current_window(seconds: int) -> Window:
    now = time.time()
    number = int(now // seconds)
    return Window(number=number, retry_after=max(1, math.ceil((number + 1) * seconds - now)))


def increment(key: str, *, timeout: int) -> int:
    """Adds one to the counter ``key`` (made with ``timeout`` seconds to live) and returns it."""
    # add and incr are each atomic, on Redis and in memory: a read followed by a write
    # would let parallel requests all read the same count.
    if cache.add(key, 1, timeout=timeout):
        return 1
    try:
        return cache.incr(key)
    except ValueError:  # evicted between the two
        cache.add(key, 1, timeout=timeout)
        return 1


def counting_failed(error: redis.RedisError, *, what: str) -> None:
    """Counts and logs a cache that could not count: ``what`` says what goes on unthrottled
    ("login throttling is off for this attempt"). Throttles let requests through while the
    cache is away, as sockets and logouts do."""
    REDIS_ERRORS.labels("cache").inc()
    logger.warning("%s: the cache failed (%s)", what, error.__class__.__name__)


def wait_text(seconds: int) -> str:
    """Returns "40 seconds" or, from a minute on, the minutes rounded up ("5 minutes")."""
    if seconds < 60:
        return f"{seconds} second{'' if seconds == 1 else 's'}"
    minutes = math.ceil(seconds / 60)
    return f"{minutes} minute{'' if minutes == 1 else 's'}"
