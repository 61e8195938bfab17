"""Both password-change pages check the old password through the login throttle."""

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from ..throttle import wait_text

pytestmark = pytest.mark.django_db(transaction=True)

WRONG = "not-the-password-7c1e"  # make_user's users have the password "pw"
NEW = "a-new-Passw0rd-4b9d"
PAGES = ["/accounts/password_change/", "/admin/password_change/"]


@pytest.fixture(params=PAGES)
def page(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def limit(settings) -> int:
    settings.LOGIN_FAILURE_LIMIT = 3
    settings.LOGIN_ADDRESS_FAILURE_LIMIT = 100
    return settings.LOGIN_FAILURE_LIMIT


def signed_in(user, address: str = "10.0.1.1") -> Client:
    client = Client(REMOTE_ADDR=address)
    client.force_login(user)
    return client


def change(client: Client, page: str, old: str) -> int:
    fields = {"old_password": old, "new_password1": NEW, "new_password2": NEW}
    response = client.post(page, fields)
    if response.status_code == 429:
        retry_after = int(response["Retry-After"])
        assert 1 <= retry_after <= 300
        assert response.context["form"].has_error("old_password", "throttled")
        assert f"try again in {wait_text(retry_after)}." in response.text
    elif response.status_code == 200:
        assert response.context["form"].has_error("old_password", "password_incorrect")
    return response.status_code


def password_is(user, password: str) -> bool:
    return get_user_model().objects.get(pk=user.pk).check_password(password)


def test_guesses_past_the_limit_are_refused_before_the_password_is_checked(page, limit, make_user):
    """Past LOGIN_FAILURE_LIMIT wrong old passwords the page answers 429, even to the right
    one, and the password stays what it was."""
    alice = make_user("alice", is_staff=True)
    client = signed_in(alice)
    assert [change(client, page, WRONG) for _ in range(limit)] == [200] * limit
    assert change(client, page, "pw") == 429
    assert password_is(alice, "pw")


def test_guesses_here_and_at_the_login_page_are_counted_together(limit, make_user):
    """The account's attempts are one count: guesses on the password-change page leave the
    login page refusing too, from any address."""
    alice = make_user("alice")
    client = signed_in(alice)
    for _ in range(limit):
        assert change(client, PAGES[0], WRONG) == 200
    login = Client(REMOTE_ADDR="10.0.9.9").post(
        "/accounts/login/", {"username": "alice", "password": "pw"}
    )
    assert login.status_code == 429


def test_a_change_with_the_right_password_uses_up_nothing(page, limit, make_user):
    """A change that gives the right old password goes through and gives back its attempt."""
    alice = make_user("alice", is_staff=True)
    client = signed_in(alice)
    for _ in range(limit - 1):
        assert change(client, page, WRONG) == 200
    assert change(client, page, "pw") == 302
    assert password_is(alice, NEW)
    assert change(client, page, WRONG) == 200


def test_the_admin_page_is_for_staff_only(make_user):
    """A signed-in user who is not staff is sent to the admin's login, as Django's page does."""
    response = signed_in(make_user("bob")).get("/admin/password_change/")
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")
