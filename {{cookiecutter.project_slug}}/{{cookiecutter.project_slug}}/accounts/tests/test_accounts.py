"""Login, logout and the demo user."""

import pytest
from asgiref.sync import sync_to_async
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client

from tests.fixtures import communicator

pytestmark = pytest.mark.django_db(transaction=True)


def test_login_page_logs_in_and_redirects_to_the_rooms(make_user):
    """It logs a user in with the login form and sends them to the room list."""
    make_user("alice")
    client = Client()
    assert client.get("/accounts/login/").status_code == 200
    response = client.post("/accounts/login/", {"username": "alice", "password": "pw"})
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert client.get("/").status_code == 200


@pytest.mark.usefixtures("layer")
async def test_logout_closes_that_sessions_sockets(make_user):
    """It closes every socket of a session with 4001 when the session logs out over HTTP."""
    user = await sync_to_async(make_user)("alice")
    browser, other_device = Client(), Client()
    await sync_to_async(browser.force_login)(user)
    await sync_to_async(other_device.force_login)(user)
    sockets = []
    for path in ("/ws/chat/lobby/", "/ws/notifications/"):
        client = communicator(path, session=browser.cookies["sessionid"].value)
        assert (await client.connect())[0]
        sockets.append(client)
    kept = communicator("/ws/notifications/", session=other_device.cookies["sessionid"].value)
    assert (await kept.connect())[0]

    await sync_to_async(browser.post)("/accounts/logout/")

    for client in sockets:
        closed = await client.receive_output(timeout=5)
        assert closed["type"] == "websocket.close"
        assert closed["code"] == 4001
    assert await kept.receive_nothing(timeout=0.3)
    await kept.disconnect()


def test_demo_user_prints_credentials_that_work(capsys):
    """It creates the demo user and prints a password that logs in."""
    call_command("demo_user")
    out = capsys.readouterr().out
    password = out.rsplit("password ", 1)[1].strip().strip("'")
    assert get_user_model().objects.get(username="demo").check_password(password)
    call_command("demo_user", "demo", "--password", "another")
    assert get_user_model().objects.get(username="demo").check_password("another")
