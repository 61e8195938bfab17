"""Behaviour that only real Redis shows."""

import asyncio
import json

import pytest

from tests.fixtures import communicator, login

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def sessions(make_user) -> list[str]:
    return [login(make_user(name)) for name in ("alice", "bob")]


async def test_a_socket_idle_for_over_six_seconds_still_receives(sessions, redis_layer):
    """It keeps idle consumers alive past redis-py's 5 s default socket timeout."""
    alice, bob = sessions
    listener = communicator("/ws/chat/idle/", login=bob)
    assert (await listener.connect())[0]
    await asyncio.sleep(6.5)
    sender = communicator("/ws/chat/idle/", login=alice)
    assert (await sender.connect())[0]
    await sender.send_to(text_data=json.dumps({"message": "still there?"}))
    frame = await listener.receive_json_from(timeout=5)
    assert frame["message"] == "still there?"
    await sender.disconnect()
    await listener.disconnect()
