"""What an operator watches: Prometheus metrics of sockets, limits, the layer and Redis.

Several server processes share PROMETHEUS_MULTIPROC_DIR (bin/serve creates it): each writes
its figures there, and /metrics on any of them reports the sum. Without it (a single
process, tests) the figures are this process's.
"""

import os
from pathlib import Path

from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    # Live gauges a dead process of this pid left (pids are reused) are not this one's.
    multiprocess.mark_process_dead(os.getpid())

SOCKETS_OPEN = Gauge(
    "sockets_open", "Accepted sockets now open, by route.", ["route"], multiprocess_mode="livesum"
)
HANDSHAKES = Counter(
    "socket_handshakes",
    "Socket handshakes by route and outcome (accepted, refused); code: the refusal's.",
    ["route", "outcome", "code"],
)
CLOSES = Counter(
    "socket_closes", "Accepted sockets that ended, by route and close code.", ["route", "code"]
)
FRAMES_IN = Counter("socket_frames_received", "Frames received from clients.")
FRAMES_OUT = Counter("socket_frames_sent", "Frames handed to sockets for their clients.")
BROADCAST_LATENCY = Histogram(
    "broadcast_latency_seconds",
    "Seconds from a group message's publish to its frames' send, per process it reached.",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)
DROPPED = Counter(
    "messages_dropped",
    "Messages not delivered, by reason: layer_full (a consumer's queue), slow_reader "
    "(a socket's backlog; the socket is closed with 4008).",
    ["reason"],
)
LIMITED = Counter(
    "limits_hit",
    "Frames, sockets, logins and orders refused by a limit, by limit.",
    ["limit"],
)
REDIS_ERRORS = Counter(
    "redis_errors",
    "Redis operations that failed, by component: layer (publishes, broadcasts from requests "
    "and signals included, and subscriptions), presence, limits, cache (login and order "
    "throttling).",
    ["component"],
)
PRESENCE_MEMBERS = Gauge(
    "presence_members",
    "Presence entries held by open sockets.",
    multiprocess_mode="livesum",
)


def multiprocess_dir() -> Path | None:
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    return Path(directory) if directory else None


def prune_dead_processes() -> None:
    """Drops the live gauges of processes that are gone (killed ones included).

    Their counters stay: a sum over processes must not go down when one restarts.
    """
    directory = multiprocess_dir()
    if directory is None:
        return
    for path in directory.glob("gauge_live*_*.db"):
        pid = path.stem.rpartition("_")[2]
        if pid.isdigit() and not _running(int(pid)):
            multiprocess.mark_process_dead(int(pid), str(directory))


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def exposition() -> bytes:
    """The metrics of every process (or of this one), in Prometheus' text format."""
    if multiprocess_dir() is None:
        return generate_latest(REGISTRY)
    prune_dead_processes()
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    return generate_latest(registry)
