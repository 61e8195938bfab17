"""The chat pages."""

import pytest

from .. import services

pytestmark = pytest.mark.django_db


def test_pages_need_a_login(client):
    """It sends anonymous visitors to the login page."""
    response = client.get("/chat/lobby/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_room_page_carries_the_room_name_for_the_client(admin_client):
    """It renders the room page with the room name as JSON for room.js."""
    response = admin_client.get("/chat/caf%C3%A9/")
    assert response.status_code == 200
    assert b'id="room-name"' in response.content
    assert '"café"' in response.content.decode() or "caf\\u00e9" in response.content.decode()
    assert b"chat/room.js" in response.content


def test_index_redirects_to_the_room_and_explains_bad_names(admin_client):
    """It opens the room a visitor names, and says what is wrong with a bad name."""
    assert admin_client.get("/?room=lobby")["Location"] == "/chat/lobby/"
    response = admin_client.get("/?room=" + "x" * 101)
    assert response.status_code == 200
    assert b"longer than 100" in response.content


def test_index_lists_rooms_by_latest_activity(admin_client, admin_user):
    """It lists the rooms with messages, the latest activity first, with their counts."""
    busy = services.room_get_or_create(name="busy")
    quiet = services.room_get_or_create(name="quiet")
    for body in ("one", "two"):
        services.message_create(room=busy, author=admin_user, body=body)
    services.message_create(room=quiet, author=admin_user, body="latest")
    services.room_get_or_create(name="empty")
    page = admin_client.get("/").content.decode()
    assert page.index(">quiet<") < page.index(">busy<")
    assert "2 messages" in page and "1 message," in page
    assert ">empty<" not in page
