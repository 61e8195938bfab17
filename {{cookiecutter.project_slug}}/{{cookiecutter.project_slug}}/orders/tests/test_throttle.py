"""Order throttling: at most ORDER_RATE_LIMIT orders per user and window, on every endpoint."""

import os
import types

import pytest
from django.test import Client
from prometheus_client import REGISTRY

from config import settings as project_settings
from tests.fixtures import PROJECT_DIR, manage_process

from ...core import counters
from .. import services
from ..models import Order

pytestmark = pytest.mark.django_db(transaction=True)
JSON = {"HTTP_ACCEPT": "application/json"}
LIMIT = 3


@pytest.fixture(autouse=True)
def _limit(settings) -> None:
    settings.ORDER_RATE_LIMIT = LIMIT
    settings.ORDER_RATE_WINDOW = 60


def refusals() -> float:
    return REGISTRY.get_sample_value("limits_hit_total", {"limit": "orders"}) or 0.0


def test_a_user_past_the_limit_is_refused_until_the_window_ends(
    shared_cache, make_user, pushed, monkeypatch
):
    """The order past the limit is refused, saying when to place another, and places and
    tells nothing; another user still places theirs, and the next window admits again."""
    alice, bob = make_user("alice"), make_user("bob")
    for _ in range(LIMIT):
        services.order_create(user=alice)
    told = len(pushed)
    refused = refusals()
    with pytest.raises(services.OrdersThrottled) as throttled:
        services.order_create(user=alice)
    assert 1 <= throttled.value.retry_after <= 60
    assert "place another in" in str(throttled.value)
    assert Order.objects.filter(user=alice).count() == LIMIT
    assert len(pushed) == told
    assert refusals() == refused + 1
    services.order_create(user=bob)
    later = counters.time.time() + throttled.value.retry_after
    monkeypatch.setattr(counters, "time", types.SimpleNamespace(time=lambda: later))
    services.order_create(user=alice)
    assert Order.objects.filter(user=alice).count() == LIMIT + 1


def test_bad_input_is_refused_before_it_is_counted(make_user):
    """An invalid quantity is a clear error and uses up none of the user's orders."""
    alice = make_user("alice")
    for _ in range(LIMIT + 2):
        with pytest.raises(services.InvalidQuantity):
            services.order_create(user=alice, quantity=0)
    for _ in range(LIMIT):
        services.order_create(user=alice)


def test_the_page_and_its_json_answer_429_with_retry_after(make_user):
    """Past the limit the page answers 429 with the wait, as HTML and as JSON; nothing more
    is placed."""
    client = Client()
    client.force_login(make_user("alice"))
    for _ in range(LIMIT):
        assert client.post("/orders/", {"quantity": "1"}, **JSON).status_code == 201
    answer = client.post("/orders/", {"quantity": "1"}, **JSON)
    assert answer.status_code == 429
    assert answer.json()["error"] == "rate_limited"
    assert 1 <= int(answer["Retry-After"]) <= 60
    page = client.post("/orders/", {"quantity": "1"})
    assert page.status_code == 429
    assert b"place another in" in page.content
    assert Order.objects.count() == LIMIT


@pytest.mark.usefixtures("cache_away")
def test_orders_go_on_unthrottled_while_the_cache_is_away(make_user, caplog):
    """With Redis away an order is still placed (never a 500), and a warning is logged."""
    alice = make_user("alice")
    errors = REGISTRY.get_sample_value("redis_errors_total", {"component": "cache"}) or 0.0
    for _ in range(LIMIT + 1):
        services.order_create(user=alice)
    assert Order.objects.filter(user=alice).count() == LIMIT + 1
    assert "order throttling is off for this order" in caplog.text
    assert REGISTRY.get_sample_value("redis_errors_total", {"component": "cache"}) > errors


def test_a_limit_below_one_stops_start_up_with_advice():
    """ORDER_RATE_LIMIT=0 (or ORDER_RATE_WINDOW=0) stops start-up, saying why."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("ORDER_RATE_")}
    for name in ("ORDER_RATE_LIMIT", "ORDER_RATE_WINDOW"):
        result = manage_process({**environment, name: "0"}, "check")
        assert result.returncode != 0
        assert "must be at least 1" in result.stderr


def test_env_example_gives_each_throttle_setting_its_default():
    """.env.example names ORDER_RATE_LIMIT and ORDER_RATE_WINDOW with their defaults."""
    example = (PROJECT_DIR / ".env.example").read_text()
    for name in ("ORDER_RATE_LIMIT", "ORDER_RATE_WINDOW"):
        if name not in os.environ:  # else the value in use is not the default
            assert f"\n{name}={getattr(project_settings, name)}\n" in example
