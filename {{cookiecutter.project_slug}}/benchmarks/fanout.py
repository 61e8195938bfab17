"""Fan-out under load: deliveries/s, latency, loss, handshakes and memory, beside raw websockets.

    make bench
    python benchmarks/fanout.py --members 100 1000 --deliveries 100000 --plot fanout.png

Starts a throw-away Redis, a migrated SQLite database and the production server (bin/serve)
with production settings, and a plain `websockets` broadcast server as the reference, each
pinned to the second core while this client runs on the first. For each room size it opens
N sockets of one logged-in user in a fresh room (100 handshakes at a time), then one member
posts 64-byte messages with 10 in flight (closed loop), then 2 messages a second (paced);
every member counts what it receives. It prints a Markdown table and writes a PNG plot.
With --split the poster is on a second server process and the members on the first, so
every message crosses Redis between processes. With --floor it also measures idle sockets
of benchmarks/floor.py's applications (a bare ASGI app, a Channels consumer without and with
the layer) on bin/serve: the server's and Channels' share of the memory per socket.
"""

import argparse
import asyncio
import contextlib
import json
import os
import platform
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from array import array
from dataclasses import asdict, dataclass, field
from pathlib import Path

import websockets

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.auth import USERS_SCRIPT, Login, live_logins
from tests.processes import (
    PROJECT_DIR,
    await_server,
    free_port,
    free_ports,
    production_settings,
    spawn_server,
    start_redis,
    start_server,
    wait_for_port,
)

BENCH_USER = "bench"
CONNECTS_AT_ONCE = 100
IN_FLIGHT = 10
MESSAGE_BYTES = 64
PACED_RATE = 2.0
WARM_UP_MEMBERS = 20
SERVER_NAME = "daphne" if "daphne" in (PROJECT_DIR / "bin" / "serve").read_text() else "uvicorn"
# benchmarks/floor.py's applications, by what they are.
FLOOR_APPS = {
    "bare": "a bare ASGI app",
    "consumer": "a Channels consumer, no layer",
    "consumer_on_layer": "a Channels consumer on the layer",
}


@dataclass
class Result:
    """One server's figures for one room size."""

    server: str
    members: int
    deliveries_per_s: float = 0.0
    lost: int = 0
    out_of_order: int = 0
    cpu_us_per_delivery: float = 0.0
    handshakes_per_s: float = 0.0
    handshake_p99_ms: float = 0.0
    cpu_ms_per_handshake: float = 0.0
    kib_per_idle_socket: float = 0.0
    paced_p50_ms: float = 0.0
    paced_p99_ms: float = 0.0
    closed_loop_p99_ms: float = 0.0


@dataclass
class Target:
    """A server to measure: where it listens, its process, and how to log in to it."""

    name: str
    port: int
    pid: int
    login: Login = field(default_factory=lambda: Login(headers={}))
    # Where the poster connects when it is not the members' server (--split).
    sender_port: int | None = None
    sender_pid: int | None = None

    @property
    def pids(self) -> list[int]:
        return [self.pid] + ([self.sender_pid] if self.sender_pid else [])


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of ``pid`` so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_kib(pid: int) -> int:
    """Resident memory of ``pid`` in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def percentile(values: array, share: float) -> float:
    """The ``share`` quantile of ``values`` (0 when empty)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def pin(pid: int, core: int) -> None:
    """Keeps ``pid`` on one core, when the machine has more than one."""
    if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) > 1:
        os.sched_setaffinity(pid, {core % (os.cpu_count() or 1)})


class Member:
    """One socket of the room: counts what it receives, in order, and how late."""

    def __init__(self, socket: websockets.ClientConnection, room: "Room") -> None:
        self.socket = socket
        self.room = room
        self.received = 0
        self.last = -1
        self.out_of_order = 0
        self.latencies = array("d")
        self.echo = asyncio.Event()

    async def read(self) -> None:
        with contextlib.suppress(websockets.ConnectionClosed):
            async for text in self.socket:
                frame = json.loads(text)
                body = frame.get("message")
                if not isinstance(body, str) or not body.startswith("bench "):
                    continue
                _, seq, sent = body.split()[:3]
                self.latencies.append((time.perf_counter_ns() - int(sent)) / 1e6)
                self.received += 1
                if int(seq) <= self.last:
                    self.out_of_order += 1
                self.last = int(seq)
                self.echo.set()
                if self.received == self.room.expected:
                    self.room.member_done()


class Room:
    """The members of one room, and whether all of them received what was sent so far."""

    def __init__(self) -> None:
        self.members: list[Member] = []
        self.expected = 0
        self.done = 0
        self.all_done = asyncio.Event()

    def expect(self, count: int) -> None:
        """From now on, waits for every member to have received ``count`` messages."""
        self.expected, self.all_done = count, asyncio.Event()
        self.done = sum(m.received >= count for m in self.members)
        if self.done == len(self.members):
            self.all_done.set()

    def member_done(self) -> None:
        self.done += 1
        if self.done == len(self.members):
            self.all_done.set()

    async def delivered(self, count: int, within: float) -> None:
        """Waits until every member received ``count`` messages, or ``within`` seconds."""
        self.expect(count)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.all_done.wait(), within)


def body(seq: int) -> str:
    """A message of MESSAGE_BYTES characters carrying its number and send time."""
    text = f"bench {seq} {time.perf_counter_ns()} "
    return text + "x" * max(0, MESSAGE_BYTES - len(text))


async def connect(target: Target, port: int, path: str) -> websockets.ClientConnection:
    return await websockets.connect(
        f"ws://127.0.0.1:{port}{path}",
        origin=f"http://127.0.0.1:{port}",
        additional_headers=target.login.headers,
        subprotocols=target.login.subprotocols or None,
        compression=None,
        open_timeout=60,
        max_size=2**20,
    )


async def open_room(target: Target, path: str, members: int, result: Result) -> Room:
    """Opens ``members`` sockets on ``path``, CONNECTS_AT_ONCE at a time; times each."""
    gate = asyncio.Semaphore(CONNECTS_AT_ONCE)
    times = array("d")
    room = Room()

    async def one() -> Member:
        async with gate:
            started = time.perf_counter()
            socket = await connect(target, target.port, path)
            times.append(time.perf_counter() - started)
            return Member(socket, room)

    rss_before, cpu_before = rss_kib(target.pid), cpu_seconds(target.pid)
    started = time.perf_counter()
    room.members = list(await asyncio.gather(*(one() for _ in range(members))))
    result.handshakes_per_s = members / (time.perf_counter() - started)
    result.cpu_ms_per_handshake = (cpu_seconds(target.pid) - cpu_before) / members * 1000
    result.handshake_p99_ms = percentile(times, 0.99) * 1000
    result.kib_per_idle_socket = (rss_kib(target.pid) - rss_before) / members
    if target.sender_port:
        # The poster, on the other process, is a member too: it counts its echoes.
        await room.members[0].socket.close()
        room.members[0] = Member(await connect(target, target.sender_port, path), room)
    return room


async def measure(target: Target, members: int, messages: int, paced_seconds: float) -> Result:
    """The figures of ``target`` for a room of ``members`` sockets."""
    result = Result(target.name, members)
    room = await open_room(target, f"/ws/chat/bench-{secrets.token_hex(4)}/", members, result)
    readers = [asyncio.create_task(m.read()) for m in room.members]
    sender = room.members[0]
    try:
        cpu_before, started = sum(map(cpu_seconds, target.pids)), time.perf_counter()
        for seq in range(messages):
            # Closed loop: at most IN_FLIGHT messages the sender has not seen come back.
            while seq - sender.received >= IN_FLIGHT:
                sender.echo.clear()
                await asyncio.wait_for(sender.echo.wait(), timeout=30)
            await sender.socket.send(json.dumps({"message": body(seq)}))
        await room.delivered(messages, within=30)
        elapsed = time.perf_counter() - started
        delivered = sum(m.received for m in room.members)
        result.deliveries_per_s = delivered / elapsed
        used = sum(map(cpu_seconds, target.pids)) - cpu_before
        result.cpu_us_per_delivery = used / max(delivered, 1) * 1e6
        closed = array("d")
        for member in room.members:
            closed.extend(member.latencies)
            member.latencies = array("d")
        result.closed_loop_p99_ms = percentile(closed, 0.99)
        paced = int(paced_seconds * PACED_RATE)
        for seq in range(messages, messages + paced):
            await sender.socket.send(json.dumps({"message": body(seq)}))
            await asyncio.sleep(1 / PACED_RATE)
        await room.delivered(messages + paced, within=30)
        result.lost = (messages + paced) * members - sum(m.received for m in room.members)
        late = array("d")
        for member in room.members:
            late.extend(member.latencies)
        result.paced_p50_ms = statistics.median(late) if late else 0.0
        result.paced_p99_ms = percentile(late, 0.99)
        result.out_of_order = sum(m.out_of_order for m in room.members)
    finally:
        await asyncio.gather(*(m.socket.close() for m in room.members))
        for reader in readers:
            reader.cancel()
    return result


RAW_SERVER = """
import asyncio, collections, json, sys
import websockets

rooms = collections.defaultdict(set)

async def handler(socket):
    room = rooms[socket.request.path]
    room.add(socket)
    try:
        async for text in socket:
            frame = {"type": "chat.message", "message": json.loads(text)["message"]}
            websockets.broadcast(room, json.dumps(frame))
    finally:
        room.discard(socket)

async def main():
    async with websockets.serve(
        handler, "127.0.0.1", int(sys.argv[1]), compression=None, max_size=2**20
    ):
        await asyncio.Future()

asyncio.run(main())
"""


@contextlib.contextmanager
def raw_server():
    """The reference: a plain `websockets` server that broadcasts to a set per room."""
    port = free_port()
    process = subprocess.Popen([sys.executable, "-c", RAW_SERVER, str(port)])
    try:
        wait_for_port(port, process=process)
        yield Target("raw websockets", port, process.pid)
    finally:
        process.kill()
        process.wait(timeout=10)


@contextlib.contextmanager
def project_environment(workdir: Path):
    """A throw-away Redis and a migrated SQLite database with the benchmark's user.

    Yields the production settings that point at them and the user's credentials.
    """
    redis_binary = shutil.which("redis-server")
    if redis_binary is None:
        sys.exit("redis-server is not on PATH: apt-get install redis-server (brew install redis)")
    redis, url = start_redis(redis_binary, workdir)
    try:
        env = production_settings(workdir / "bench.sqlite3", f"{url}/0")
        setup = "from django.core.management import call_command\n"
        setup += "call_command('migrate', interactive=False, verbosity=0)\n"
        output = subprocess.run(
            [
                sys.executable,
                "manage.py",
                "shell",
                "-c",
                setup + USERS_SCRIPT.format(names=(BENCH_USER,)),
            ],
            cwd=PROJECT_DIR,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        yield env, json.loads(output.splitlines()[-1])
    finally:
        redis.kill()
        redis.wait(timeout=10)


@contextlib.contextmanager
def project_server(
    env: dict[str, str], created: dict, *, split: bool = False, log: Path | None = None
):
    """The project's production server (bin/serve) in ``env`` (project_environment).

    ``split``: a second server process for the poster. ``log``: where the servers write.
    """
    ports = free_ports(2 if split else 1)
    server_output = open(log, "wb") if log else subprocess.DEVNULL  # noqa: SIM115
    servers = [start_server(env, port, server_output) for port in ports]
    server, port = servers[0], ports[0]
    try:
        login = live_logins(created, f"http://127.0.0.1:{port}", (BENCH_USER,))[BENCH_USER]
        if split:
            name = f"this project ({SERVER_NAME}, poster on a 2nd process)"
            yield Target(name, port, server.pid, login, ports[1], servers[1].pid)
        else:
            yield Target(f"this project ({SERVER_NAME})", port, server.pid, login)
    finally:
        for process in servers:
            process.kill()
            process.wait(timeout=10)
        if log:
            server_output.close()


@contextlib.contextmanager
def floor_servers(env: dict[str, str], apps: tuple[str, ...] = tuple(FLOOR_APPS)):
    """bin/serve serving each of ``apps`` (benchmarks/floor.py's), in ``env``."""
    ports = free_ports(len(apps))
    # Started together: each spends a second or two importing Django.
    servers = [
        spawn_server({**env, "ASGI_APP": f"benchmarks.floor:{app}"}, port, subprocess.DEVNULL)
        for app, port in zip(apps, ports, strict=True)
    ]
    try:
        for server, port in zip(servers, ports, strict=True):
            await_server(server, port)
        yield [
            Target(f"{SERVER_NAME}, {FLOOR_APPS[app]}", port, server.pid)
            for app, port, server in zip(apps, ports, servers, strict=True)
        ]
    finally:
        for server in servers:
            server.kill()
            server.wait(timeout=10)


async def measure_idle(target: Target, members: int) -> Result:
    """Handshakes and memory of ``members`` idle sockets on ``target``, closed after."""
    result = Result(target.name, members)
    room = await open_room(target, "/ws/floor/", members, result)
    await asyncio.gather(*(m.socket.close() for m in room.members))
    return result


async def run_idle(targets: list[Target], sizes: list[int], core: int | None = 1) -> list[Result]:
    """Measures the idle sockets of every target at every size, one after another."""
    results = []
    for target in targets:
        if core is not None:
            pin(target.pid, core)
        await measure_idle(target, WARM_UP_MEMBERS)
        for members in sizes:
            results.append(await measure_idle(target, members))
            print(f"  {results[-1]}", file=sys.stderr, flush=True)
    return results


async def run_all(
    targets: list[Target], sizes: list[int], deliveries: int, paced: float, core: int | None = 1
) -> list[Result]:
    """Measures every target at every room size, one after another (on ``core``)."""
    results = []
    for target in targets:
        if core is not None:
            for pid in target.pids:
                pin(pid, core)
        # Warm-up, not measured: imports and connections made on first use.
        await measure(target, WARM_UP_MEMBERS, 2, paced_seconds=0)
        for members in sizes:
            messages = max(20, deliveries // members)
            results.append(await measure(target, members, messages, paced))
            print(f"  {results[-1]}", file=sys.stderr, flush=True)
    return results


def table(results: list[Result]) -> str:
    """The results as a Markdown table, the reference's share of each row given."""
    raw = {r.members: r for r in results if r.server.startswith("raw")}
    lines = [
        "| server | members | deliveries/s | of raw | lost | out of order "
        "| server CPU µs/delivery | handshakes/s | handshake p99 ms | CPU ms/handshake "
        "| KiB/idle socket | paced p50/p99 ms |",
        "|" + " --- |" * 12,
    ]
    for r in results:
        share = r.deliveries_per_s / raw[r.members].deliveries_per_s if r.members in raw else 0
        lines.append(
            f"| {r.server} | {r.members} | {r.deliveries_per_s:,.0f} | {share:.0%} | {r.lost} "
            f"| {r.out_of_order} | {r.cpu_us_per_delivery:.0f} | {r.handshakes_per_s:,.0f} "
            f"| {r.handshake_p99_ms:.0f} | {r.cpu_ms_per_handshake:.2f} "
            f"| {r.kib_per_idle_socket:.1f} "
            f"| {r.paced_p50_ms:.0f}/{r.paced_p99_ms:.0f} |"
        )
    return "\n".join(lines)


def idle_table(results: list[Result]) -> str:
    """Handshakes and memory per idle socket of each row, as a Markdown table."""
    lines = [
        "| server | members | handshakes/s | handshake p99 ms | KiB/idle socket |",
        "|" + " --- |" * 5,
    ]
    for r in results:
        lines.append(
            f"| {r.server} | {r.members} | {r.handshakes_per_s:,.0f} "
            f"| {r.handshake_p99_ms:.0f} | {r.kib_per_idle_socket:.1f} |"
        )
    return "\n".join(lines)


def plot(results: list[Result], path: Path) -> None:
    """Writes deliveries/s and paced p99 latency per server and room size to ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    servers = list(dict.fromkeys(r.server for r in results))
    sizes = sorted({r.members for r in results})
    figure, (rate, latency) = plt.subplots(1, 2, figsize=(10, 4))
    width = 0.8 / len(servers)
    for i, server in enumerate(servers):
        rows = {r.members: r for r in results if r.server == server}
        xs = [j + i * width for j in range(len(sizes))]
        rate.bar(xs, [rows[s].deliveries_per_s for s in sizes], width, label=server)
        latency.bar(xs, [rows[s].paced_p99_ms for s in sizes], width, label=server)
    for axis, title in ((rate, "deliveries per second"), (latency, "paced p99 latency (ms)")):
        axis.set_xticks(
            [j + 0.4 - width / 2 for j in range(len(sizes))], [f"{s} members" for s in sizes]
        )
        axis.set_title(title)
    rate.legend()
    figure.suptitle(f"fan-out, {platform.machine()}, {os.cpu_count()} cores")
    figure.tight_layout()
    figure.savefig(path, dpi=100)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, nargs="+", default=[100, 1000])
    parser.add_argument(
        "--deliveries",
        type=int,
        default=100_000,
        help="closed-loop deliveries per room size: deliveries / members messages (at least 20)",
    )
    parser.add_argument("--paced-seconds", type=float, default=10.0)
    parser.add_argument("--plot", type=Path, default=PROJECT_DIR / "benchmarks" / "fanout.png")
    parser.add_argument("--json", type=Path, help="also write the results as JSON")
    parser.add_argument(
        "--split", action="store_true", help="post from a second server process, through Redis"
    )
    parser.add_argument("--server-log", type=Path, help="write the servers' output there")
    parser.add_argument(
        "--floor",
        action="store_true",
        help="also measure idle sockets of benchmarks/floor.py's apps on bin/serve",
    )
    args = parser.parse_args()
    pin(os.getpid(), 0)
    floor: list[Result] = []
    with (
        tempfile.TemporaryDirectory(prefix="fanout-") as tmp,
        project_environment(Path(tmp)) as (env, created),
    ):
        with (
            raw_server() as raw,
            project_server(env, created, split=args.split, log=args.server_log) as project,
        ):
            results = asyncio.run(
                run_all([raw, project], args.members, args.deliveries, args.paced_seconds)
            )
        if args.floor:
            with floor_servers(env) as targets:
                floor = asyncio.run(run_idle(targets, args.members))
    machine = f"{platform.machine()}, {os.cpu_count()} cores"
    print(f"machine: {machine}, Python {platform.python_version()}")
    print(table(results))
    if floor:
        print()
        print(idle_table(results + floor))
    plot(results, args.plot)
    print(f"plot: {args.plot}")
    if args.json:
        args.json.write_text(json.dumps([asdict(r) for r in results + floor], indent=2))


if __name__ == "__main__":
    main()
