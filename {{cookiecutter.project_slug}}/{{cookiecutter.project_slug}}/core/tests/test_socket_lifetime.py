"""Sockets end at WEBSOCKET_MAX_AGE with a code that tells clients to reconnect."""

import asyncio

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator

from tests.fixtures import communicator, login, receive_close

from ..consumers import MAX_AGE_JITTER, BaseConsumer, socket_max_age
from ..protocol import CloseCode

pytestmark = pytest.mark.django_db(transaction=True)


async def test_a_socket_is_closed_with_4010_at_the_maximum_age(make_user, settings):
    """It closes the socket with 4010 once it is WEBSOCKET_MAX_AGE seconds old."""
    settings.WEBSOCKET_MAX_AGE = 0.5
    session = await sync_to_async(login)(await sync_to_async(make_user)("alice"))
    client = communicator("/ws/notifications/", login=session)
    connected, _ = await client.connect()
    assert connected
    assert await client.receive_nothing(timeout=0.3)
    closed = await receive_close(client)
    assert closed["code"] == CloseCode.MAX_AGE


def test_maximum_ages_are_spread_over_the_last_tenth(settings):
    """Sockets opened together reach their age at different times, none after the setting."""
    settings.WEBSOCKET_MAX_AGE = 3600
    ages = [socket_max_age() for _ in range(200)]
    assert all(3600 * (1 - MAX_AGE_JITTER) <= age <= 3600 for age in ages)
    assert max(ages) - min(ages) > 3600 * MAX_AGE_JITTER / 2


class SlowConsumer(BaseConsumer):
    handshake_timeout = 0.3

    async def connect(self) -> None:
        await asyncio.sleep(5)
        await self.accept()


async def test_a_handshake_not_answered_in_time_is_refused():
    """It refuses the handshake (HTTP 403) when the consumer has not accepted in time."""
    client = WebsocketCommunicator(SlowConsumer.as_asgi(), "/ws/slow/")
    connected, _ = await client.connect(timeout=3)
    assert not connected
