"""Login throttling on every endpoint that takes a password, per account and per address."""

import json
import logging
import os
import threading
from dataclasses import dataclass

import pytest
import redis
from django.conf import settings as project_settings
from django.core.exceptions import NON_FIELD_ERRORS
from django.http import HttpResponse
from django.test import Client
from prometheus_client import REGISTRY

from config.layers import redis_cache
from tests.fixtures import PROJECT_DIR, manage_process

from .. import throttle

pytestmark = pytest.mark.django_db(transaction=True)

WRONG = "not-the-password-7c1e"  # make_user's users have the password "pw"
THROTTLED, WRONG_PASSWORD, LOGGED_IN = "throttled", "wrong password", "logged in"


@dataclass(frozen=True)
class Endpoint:
    """An endpoint that takes a password, and how to read its answers."""

    path: str
    api: bool = False

    def send(self, fields: object, *, address: str) -> HttpResponse:
        client = Client(REMOTE_ADDR=address)
        if self.api:
            body = fields if isinstance(fields, str) else json.dumps(fields)
            return client.post(self.path, body, content_type="application/json")
        return client.post(self.path, fields)

    def login(self, username: str, password: str, *, address: str) -> str:
        """Returns what the endpoint made of the attempt, checking a refusal's every part."""
        response = self.send({"username": username, "password": password}, address=address)
        if response.status_code == 429:
            retry_after = int(response["Retry-After"])
            assert 1 <= retry_after <= project_settings.LOGIN_FAILURE_WINDOW
            wait = throttle.wait_text(retry_after)
            if self.api:
                assert response.json()["error"] == "too_many_attempts"
                assert wait in response.json()["detail"]
            else:
                assert response.context["form"].has_error(NON_FIELD_ERRORS, "throttled")
                message = "Too many failed logins for this account or from this address"
                assert f"{message}; try again in {wait}." in response.text
            return THROTTLED
        if self.api:
            outcomes = {200: LOGGED_IN, 401: WRONG_PASSWORD}
        else:
            form = response.context["form"] if response.status_code == 200 else None
            wrong = form is not None and form.has_error(NON_FIELD_ERRORS, "invalid_login")
            outcomes = {302: LOGGED_IN, 200: WRONG_PASSWORD if wrong else None}
        outcome = outcomes.get(response.status_code)
        assert outcome, f"{self.path} answered {response.status_code}: {response.content[:300]}"
        return outcome


PAGE = Endpoint("/accounts/login/")
ADMIN = Endpoint("/admin/login/")
API = Endpoint("/api/auth/token/", api=True)
ENDPOINTS = [PAGE, ADMIN, *([API] if project_settings.SOCKET_AUTH == "jwt" else [])]


@pytest.fixture(params=ENDPOINTS, ids=lambda endpoint: endpoint.path)
def endpoint(request: pytest.FixtureRequest) -> Endpoint:
    return request.param


@pytest.fixture
def limits(settings):
    """Three attempts per account, and per address, in a window; tests change either."""
    settings.LOGIN_FAILURE_LIMIT = 3
    settings.LOGIN_ADDRESS_FAILURE_LIMIT = 3
    return settings


@pytest.fixture
def staff(make_user):
    """Makes staff users (the admin's login admits only them), password "pw"."""
    return lambda username: make_user(username, is_staff=True)


def test_an_account_is_refused_past_its_limit_from_any_address(endpoint, limits, staff, caplog):
    """Past LOGIN_FAILURE_LIMIT failures on an account, its logins are refused from every
    address, the right password included; other accounts are not affected."""
    caplog.set_level(logging.DEBUG)
    staff("alice")
    staff("bob")
    limits.LOGIN_ADDRESS_FAILURE_LIMIT = 100
    for number in range(3):
        assert endpoint.login("alice", WRONG, address=f"10.0.0.{number}") == WRONG_PASSWORD
    assert endpoint.login("alice", WRONG, address="10.0.1.1") == THROTTLED
    assert endpoint.login("alice", "pw", address="10.0.1.2") == THROTTLED
    assert endpoint.login("bob", "pw", address="10.0.0.1") == LOGGED_IN
    assert WRONG not in caplog.text


def test_an_address_is_refused_past_its_limit_for_any_account(endpoint, limits, staff):
    """Past LOGIN_ADDRESS_FAILURE_LIMIT failures from an address, whatever the accounts, its
    logins are refused; the same account logs in from elsewhere."""
    staff("alice")
    limits.LOGIN_FAILURE_LIMIT = 100
    for number in range(3):
        assert endpoint.login(f"nobody-{number}", WRONG, address="10.0.0.9") == WRONG_PASSWORD
    assert endpoint.login("alice", "pw", address="10.0.0.9") == THROTTLED
    assert endpoint.login("alice", "pw", address="10.0.0.10") == LOGGED_IN


def test_a_login_to_another_account_resets_nothing(endpoint, limits, staff):
    """Logging into one's own account neither clears the failures on another account nor
    those of the address; the success itself is not counted."""
    staff("alice")
    staff("bob")
    address = "10.0.0.20"
    assert endpoint.login("bob", WRONG, address=address) == WRONG_PASSWORD
    assert endpoint.login("bob", WRONG, address=address) == WRONG_PASSWORD
    assert endpoint.login("alice", "pw", address=address) == LOGGED_IN
    # Counted: the address's third failure, not its fourth attempt.
    assert endpoint.login("bob", WRONG, address=address) == WRONG_PASSWORD
    assert endpoint.login("bob", "pw", address="10.0.0.21") == THROTTLED
    assert endpoint.login("alice", "pw", address=address) == THROTTLED


def test_successes_never_use_up_the_limit(endpoint, limits, staff):
    """Any number of successful logins leaves an account's and an address's limit whole."""
    staff("alice")
    for _ in range(5):
        assert endpoint.login("alice", "pw", address="10.0.0.30") == LOGGED_IN
    for _ in range(3):
        assert endpoint.login("alice", WRONG, address="10.0.0.30") == WRONG_PASSWORD
    assert endpoint.login("alice", WRONG, address="10.0.0.30") == THROTTLED


FORM_ERRORS = [{"username": "alice"}, {"password": "pw"}, {}]
API_ERRORS = [
    ({"username": "alice"}, "invalid_request"),
    ({"username": "alice", "password": 5}, "invalid_request"),
    ({"username": ["alice"], "password": "pw"}, "invalid_request"),
    ({"username": None, "password": None}, "invalid_request"),
    ("[1]", "invalid_json"),
    ("{not json", "invalid_json"),
]


def test_bad_input_gets_a_clear_error_and_is_not_counted(endpoint, limits, staff):
    """Missing fields (and, for the API, anything but strings) get a clear error, as often as
    they are sent, and use up no attempt."""
    staff("alice")
    limits.LOGIN_FAILURE_LIMIT = limits.LOGIN_ADDRESS_FAILURE_LIMIT = 1
    for _ in range(2):
        if endpoint.api:
            for body, error in API_ERRORS:
                response = endpoint.send(body, address="10.0.0.40")
                assert (response.status_code, response.json()["error"]) == (400, error)
                assert response.json()["detail"]
        else:
            for fields in FORM_ERRORS:
                response = endpoint.send(fields, address="10.0.0.40")
                assert response.status_code == 200
                form = response.context["form"]
                missing = {"username", "password"} - fields.keys()
                assert missing and all(form.has_error(name, "required") for name in missing)
                assert "This field is required." in response.text
    assert endpoint.login("alice", "pw", address="10.0.0.40") == LOGGED_IN


def limited() -> float:
    return REGISTRY.get_sample_value("limits_hit_total", {"limit": "login"}) or 0.0


def test_each_refusal_is_counted_in_the_metrics(endpoint, limits, staff):
    """Every refused attempt adds one to limits_hit_total{limit="login"}; others add none."""
    staff("alice")
    before = limited()
    for _ in range(3):
        assert endpoint.login("alice", WRONG, address="10.0.0.50") == WRONG_PASSWORD
    assert limited() == before
    for _ in range(2):
        assert endpoint.login("alice", WRONG, address="10.0.0.50") == THROTTLED
    assert limited() == before + 2


def test_parallel_attempts_are_all_counted(shared_cache, limits):
    """Attempts started at the same moment are counted one by one: exactly the limit of them
    go on to a password check, and one given back makes room for exactly one more."""
    limits.LOGIN_ADDRESS_FAILURE_LIMIT = 100
    barrier = threading.Barrier(30)
    started: list[throttle.LoginAttempt] = []
    refused: list[int] = []

    def attempt() -> None:
        barrier.wait(timeout=30)
        try:
            started.append(throttle.login_attempt_start(username="alice", address="10.0.0.60"))
        except throttle.LoginThrottled as error:
            refused.append(error.retry_after)

    threads = [threading.Thread(target=attempt) for _ in range(30)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert (len(started), len(refused)) == (3, 27)
    throttle.login_attempt_give_back(attempt=started[0])
    throttle.login_attempt_start(username="alice", address="10.0.0.61")
    with pytest.raises(throttle.LoginThrottled):
        throttle.login_attempt_start(username="alice", address="10.0.0.62")


def test_the_cache_holds_neither_usernames_nor_addresses(redis_url, settings):
    """Counters are keyed by keyed hashes: Redis holds no username and no address."""
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    settings.CACHES = {"default": redis_cache(redis_url, max_connections=5)}
    assert PAGE.login("carol-the-user", WRONG, address="10.20.30.40") == WRONG_PASSWORD
    keys = b" ".join(client.keys("*"))
    assert keys.count(b"login-attempts:") == 2
    assert b"carol" not in keys
    assert b"10.20.30.40" not in keys


def test_an_ipv6_slash_64_counts_as_one_address(limits):
    """The addresses of one IPv6 /64 (one host, usually) share a counter; others do not."""
    limits.LOGIN_FAILURE_LIMIT = 100
    limits.LOGIN_ADDRESS_FAILURE_LIMIT = 2
    for number, address in enumerate(["2001:db8::1", "2001:db8::2:3"]):
        throttle.login_attempt_start(username=f"user-{number}", address=address)
    with pytest.raises(throttle.LoginThrottled):
        throttle.login_attempt_start(username="user-9", address="2001:db8::ffff")
    throttle.login_attempt_start(username="user-9", address="2001:db8:0:1::1")


def test_accounts_are_counted_without_regard_to_case(limits):
    """Usernames that differ only in case are one account (on case-insensitive databases)."""
    limits.LOGIN_ADDRESS_FAILURE_LIMIT = 100
    for username in ["alice", "Alice", "ALICE"]:
        throttle.login_attempt_start(username=username, address="10.0.0.70")
    with pytest.raises(throttle.LoginThrottled):
        throttle.login_attempt_start(username="aLiCe", address="10.0.0.71")


@pytest.mark.usefixtures("cache_away")
def test_logins_go_on_unthrottled_while_the_cache_is_away(endpoint, limits, staff, caplog):
    """With Redis away, a login still gets its answer (never a 500), and a warning is logged."""
    staff("alice")
    errors = REGISTRY.get_sample_value("redis_errors_total", {"component": "cache"}) or 0.0
    for _ in range(4):
        assert endpoint.login("alice", WRONG, address="10.0.0.80") == WRONG_PASSWORD
    assert endpoint.login("alice", "pw", address="10.0.0.80") == LOGGED_IN
    assert "login throttling is off for this attempt" in caplog.text
    assert REGISTRY.get_sample_value("redis_errors_total", {"component": "cache"}) > errors


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(1, "1 second"), (59, "59 seconds"), (60, "1 minute"), (61, "2 minutes"), (300, "5 minutes")],
)
def test_the_wait_is_said_in_seconds_then_minutes(seconds, text):
    """A wait under a minute is given in seconds, a longer one in minutes rounded up."""
    assert throttle.wait_text(seconds) == text


THROTTLE_SETTINGS = ["LOGIN_FAILURE_LIMIT", "LOGIN_ADDRESS_FAILURE_LIMIT", "LOGIN_FAILURE_WINDOW"]


def test_env_example_gives_each_throttle_setting_its_default():
    """.env.example names each throttle setting with the value used when it is unset."""
    example = (PROJECT_DIR / ".env.example").read_text()
    for name in THROTTLE_SETTINGS:
        if name not in os.environ:  # else the value in use is not the default
            assert f"\n{name}={getattr(project_settings, name)}\n" in example


def test_limits_below_one_stop_start_up_with_advice():
    """LOGIN_FAILURE_LIMIT=0 (or another throttle setting below 1) stops start-up, saying why."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("LOGIN_")}
    result = manage_process({**environment, "LOGIN_FAILURE_LIMIT": "0"}, "check")
    assert result.returncode != 0
    assert "must be at least 1" in result.stderr
