"""Origin checks on session-authenticated sockets."""

import pytest

from tests.fixtures import communicator, session_cookie

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def alice(make_user) -> str:
    return session_cookie(make_user("alice"))


@pytest.mark.parametrize("origin", [b"http://evil.example", None])
async def test_foreign_or_missing_origin_is_refused(alice, origin):
    """It refuses the handshake from a foreign page, or from a client without Origin."""
    client = communicator("/ws/chat/lobby/", session=alice, origin=origin)
    connected, _ = await client.connect()
    assert not connected


async def test_matching_origin_is_accepted(alice):
    """It accepts the handshake from a page of an allowed host."""
    client = communicator("/ws/chat/lobby/", session=alice)
    connected, _ = await client.connect()
    assert connected
    await client.disconnect()
