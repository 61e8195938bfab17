"""Login, logout and the demo user."""

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client

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


def test_logout_works_while_redis_is_away(make_user, redis_away, caplog):
    """Closing the session's sockets is best effort: the user is logged out regardless."""
    make_user("alice")
    client = Client()
    assert client.login(username="alice", password="pw")
    response = client.post("/accounts/logout/")
    assert response.status_code == 302
    assert "_auth_user_id" not in client.session
    assert client.get("/").status_code == 302  # the rooms need a login again


def test_demo_user_prints_credentials_that_work(capsys):
    """It creates the demo user and prints a password that logs in."""
    call_command("demo_user")
    out = capsys.readouterr().out
    password = out.rsplit("password ", 1)[1].strip().strip("'")
    assert get_user_model().objects.get(username="demo").check_password(password)
    call_command("demo_user", "demo", "--password", "another")
    assert get_user_model().objects.get(username="demo").check_password("another")
