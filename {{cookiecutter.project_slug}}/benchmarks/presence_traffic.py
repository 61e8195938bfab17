"""Presence traffic per join as a room grows: diffs, not the article's full-list rebroadcast.

    python benchmarks/presence_traffic.py [--sizes 10 100 1000]

Fills a room with N subscribed sockets (real consumers, in-memory channel layer and store,
a throw-away SQLite database), lets one more user join, and counts what that join cost:
channel-layer publishes, bytes per published diff, frames delivered and their size. The
last column is what the article's design would send each member: the whole online list.
"""

import argparse
import asyncio
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ["DATABASE_URL"] = f"sqlite:///{tempfile.mkdtemp()}/bench.sqlite3"
os.environ["REDIS_URL"] = ""
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DJANGO_DEBUG", "true")

import django

django.setup()

from asgiref.sync import sync_to_async  # noqa: E402
from channels.layers import get_channel_layer  # noqa: E402
from channels.testing import WebsocketCommunicator  # noqa: E402
from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402

from {{ cookiecutter.project_slug }}.chat.consumers import ChatConsumer  # noqa: E402


async def connect(user, room: str) -> WebsocketCommunicator:
    # Straight to the consumer: authentication is not what this measures.
    client = WebsocketCommunicator(ChatConsumer.as_asgi(), f"/ws/chat/{room}/?presence=1")
    client.scope.update(
        user=user,
        session=None,
        token_claims={"exp": time.time() + 3600},
        url_route={"kwargs": {"room_name": room}},
    )
    connected, _ = await client.connect(timeout=60)
    if not connected:
        raise RuntimeError(f"the consumer refused a socket to {room}")
    return client


async def drain(client: WebsocketCommunicator) -> list[str]:
    frames = []
    while not await client.receive_nothing(timeout=0.01):
        frames.append((await client.receive_output())["text"])
    return frames


async def measure(size: int, users: list) -> dict[str, float]:
    room = f"bench{size}"
    layer = get_channel_layer()
    published: list[int] = []
    original = layer.group_send

    async def counting_group_send(group: str, message: dict) -> None:
        if message["type"] == "presence.diff" and group == f"presence.chat.{room}":
            published.append(len(message["text"].encode()))
        await original(group, message)

    members = [await connect(user, room) for user in users[:size]]
    for member in members:
        await drain(member)
    layer.group_send = counting_group_send
    newcomer = await connect(users[size], room)
    await asyncio.sleep(0.05 + size / 1000)  # let the diff reach every member
    delivered = [frame for member in members for frame in await drain(member)]
    layer.group_send = original
    # Only what this join caused (a late diff of an earlier member's join is not counted).
    newcomer_id = users[size].pk
    diffs = [
        frame
        for frame in delivered
        if json.loads(frame)["type"] == "presence.diff"
        and [m["id"] for m in json.loads(frame)["joins"]] == [newcomer_id]
    ]
    full_list = json.dumps(
        {"type": "presence_update", "online": [str(u.pk) for u in users[: size + 1]]}
    )
    for client in [*members, newcomer]:
        await client.disconnect()
    return {
        "members": size,
        "publishes": len(published),
        "bytes_per_publish": sum(published) / max(1, len(published)),
        "frames": len(diffs),
        "bytes_per_frame": sum(len(f.encode()) for f in diffs) / max(1, len(diffs)),
        "article_bytes_per_frame": len(full_list.encode()),
    }


async def main(sizes: list[int]) -> None:
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels.layers.InMemoryChannelLayer",
            "CONFIG": {"capacity": 100_000},
        }
    }
    settings.PRESENCE_REFRESH_INTERVAL = 3600  # no refreshes during the measurement
    await sync_to_async(call_command)("migrate", verbosity=0)
    user_model = get_user_model()
    count = max(sizes) + 1
    await sync_to_async(user_model.objects.bulk_create)(
        [user_model(username=f"user{i:05d}") for i in range(count)]
    )
    users = await sync_to_async(list)(user_model.objects.order_by("pk"))
    print(
        f"machine: {platform.node()} {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, Django {django.get_version()}"
    )
    header = (
        "members",
        "publishes",
        "bytes/publish",
        "frames",
        "bytes/frame",
        "article bytes/frame",
    )
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for size in sizes:
        started = time.monotonic()
        row = await measure(size, users)
        print(
            f"| {row['members']} | {row['publishes']} | {row['bytes_per_publish']:.0f} | "
            f"{row['frames']} | {row['bytes_per_frame']:.0f} | {row['article_bytes_per_frame']} |"
            f"  ({time.monotonic() - started:.1f} s)"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 100, 1000])
    asyncio.run(main(parser.parse_args().sizes))
