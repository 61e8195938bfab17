"""Credential and membership changes made elsewhere close sockets a live server serves."""

import asyncio
import contextlib
import json
import uuid

import pytest
import websockets

from tests.auth import USERS_SCRIPT, live_logins, logout_over_http
from tests.fixtures import live_connect as connect
from tests.fixtures import next_frame_of, run_manage

pytestmark = pytest.mark.live

# Users of this module only: their credentials change here, so no other test may use them.
NAMES = ("dora", "eric", "fay", "gus")
# Seconds the closes may take to arrive once the changes are committed (they take a few
# milliseconds; this is for loaded machines).
CLOSE_WITHIN = 10.0

ROOMS_SCRIPT = """
from django.apps import apps
from django.contrib.auth import get_user_model
Room = apps.get_model("chat", "Room")
Room.objects.create(name={private!r}, is_private=True).members.add(
    get_user_model().objects.get(username="gus")
)
Room.objects.create(name={public!r})
"""

# What administrators (and Django's password forms) do, from a process of its own.
CHANGES_SCRIPT = """
from django.apps import apps
from django.contrib.auth import get_user_model
User, Room = get_user_model(), apps.get_model("chat", "Room")
dora = User.objects.get(username="dora")
dora.set_password("dora's new password")
dora.save()
eric = User.objects.get(username="eric")
eric.is_active = False
eric.save()
Room.objects.get(name={private!r}).members.remove(User.objects.get(username="gus"))
public = Room.objects.get(name={public!r})
public.is_private = True
public.save()
"""


async def closed_with(socket: websockets.ClientConnection) -> int | None:
    """Reads ``socket`` until the server closes it; returns the code the server sent."""
    with contextlib.suppress(websockets.ConnectionClosed):
        async for _ in socket:
            pass
    return socket.close_code


def test_changes_made_elsewhere_close_the_sockets_of_another_process(servers, production_env):
    """A password changed and a user deactivated in a shell and a logout over HTTP on one
    server close the users' sockets on the other with 4001; a member removed from a
    private room and a room made private close those sockets on the room with 4003. The
    sockets the changes do not concern stay open, and the old credentials open none."""
    tag = uuid.uuid4().hex[:8]
    rooms = {"private": f"creds-private-{tag}", "public": f"creds-public-{tag}"}
    setup = USERS_SCRIPT.format(names=NAMES) + ROOMS_SCRIPT.format(**rooms)
    created = json.loads(run_manage(production_env, "shell", "-c", setup).splitlines()[-1])
    base_url = f"http://127.0.0.1:{servers[0]}"
    logins = live_logins(created, base_url, NAMES)
    expected = {
        ("dora", "/ws/chat/lobby/"): 4001,
        ("dora", "/ws/notifications/"): 4001,
        ("eric", "/ws/chat/lobby/"): 4001,
        ("fay", "/ws/chat/lobby/"): 4001,
        ("gus", f"/ws/chat/{rooms['private']}/"): 4003,
        ("gus", f"/ws/chat/{rooms['public']}/"): 4003,
    }

    async def scenario() -> tuple[dict, int | str | None]:
        async with contextlib.AsyncExitStack() as stack:
            sockets = {
                key: await stack.enter_async_context(connect(servers[1], key[1], logins[key[0]]))
                for key in expected
            }
            kept = await stack.enter_async_context(
                connect(servers[1], "/ws/notifications/", logins["gus"])
            )
            closing = {key: asyncio.create_task(closed_with(s)) for key, s in sockets.items()}
            await asyncio.to_thread(logout_over_http, base_url, logins["fay"])
            await asyncio.to_thread(
                run_manage, production_env, "shell", "-c", CHANGES_SCRIPT.format(**rooms)
            )
            await asyncio.wait(closing.values(), timeout=CLOSE_WITHIN)
            codes = {k: t.result() if t.done() else "still open" for k, t in closing.items()}
            # Still open and served: the changes concerned gus's rooms, not gus.
            await kept.send("{}")
            assert (await next_frame_of(kept, "error", 10))["code"] == "read_only"
        async with connect(servers[1], "/ws/notifications/", logins["dora"]) as again:
            refused = await closed_with(again)
        return codes, refused

    codes, refused = asyncio.run(scenario())
    assert codes == expected
    assert refused == 4001
