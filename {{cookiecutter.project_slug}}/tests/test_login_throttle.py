"""Password guesses sent at once to both live servers, which share their counters in Redis."""

import re
import secrets
import threading
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from http.cookies import SimpleCookie

import pytest
from django.conf import settings

pytestmark = pytest.mark.live

INVALID_LOGIN = "Please enter a correct username and password"
THROTTLED = "Too many failed logins for this account or from this address"


def login_form(port: int) -> tuple[str, str]:
    """GETs the login page; returns its CSRF cookie and the form's CSRF token."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/accounts/login/", timeout=30) as page:
        cookie = SimpleCookie()
        for header in page.headers.get_all("Set-Cookie"):
            cookie.load(header)
        html = page.read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    assert token, "the login page has no CSRF token"
    return cookie["csrftoken"].value, token.group(1)


@dataclass(frozen=True)
class Answer:
    status: int
    retry_after: str | None
    text: str


def guess(port: int, username: str, address: str, csrf: tuple[str, str]) -> Answer:
    """POSTs a wrong password for ``username`` as a client at ``address``."""
    cookie, token = csrf
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/accounts/login/",
        data=urllib.parse.urlencode(
            {"username": username, "password": "wrong", "csrfmiddlewaretoken": token}
        ).encode(),
        # The servers take the client address from the proxy's header (tests/processes.py).
        headers={"Cookie": f"csrftoken={cookie}", "X-Forwarded-For": address},
    )
    try:
        response = urllib.request.urlopen(request, timeout=60)
    except urllib.error.HTTPError as error:  # 429, or anything else the test reports
        response = error
    with response:
        return Answer(response.status, response.headers["Retry-After"], response.read().decode())


def test_guesses_sent_at_once_to_both_servers_get_no_more_password_checks_than_the_limit(
    servers,
):
    """Thrice LOGIN_FAILURE_LIMIT guesses on one account, all at once and spread over both
    server processes: exactly the limit get a password check, every other one a 429."""
    # The servers run on the same environment as this process, so with the same limits.
    limit = settings.LOGIN_FAILURE_LIMIT
    count = 3 * limit
    assert count <= settings.LOGIN_ADDRESS_FAILURE_LIMIT, "the account's limit must be hit first"
    username = f"guessed-{secrets.token_hex(4)}"  # unknown users are counted the same
    address = f"198.51.100.{secrets.randbelow(250) + 1}"
    csrf = login_form(servers[0])
    barrier = threading.Barrier(count)
    answers: list[Answer] = []

    def send(port: int) -> None:
        barrier.wait(timeout=30)
        answers.append(guess(port, username, address, csrf))

    threads = [
        threading.Thread(target=send, args=(servers[number % 2],)) for number in range(count)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert len(answers) == count, "some guesses got no answer"
    checked = [a for a in answers if a.status == 200 and INVALID_LOGIN in a.text]
    refused = [
        a for a in answers if a.status == 429 and THROTTLED in a.text and int(a.retry_after) >= 1
    ]
    assert (len(checked), len(refused)) == (limit, count - limit), [a.status for a in answers]
