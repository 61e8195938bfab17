"""The orders page and its endpoints: a user places, sees and watches only their own."""

import pytest
from django.test import Client

from .. import services
from ..models import Order

pytestmark = pytest.mark.django_db(transaction=True)
JSON = {"HTTP_ACCEPT": "application/json"}


@pytest.fixture
def alice_client(make_user) -> Client:
    client = Client()
    client.force_login(make_user("alice"))
    return client


def test_the_page_needs_a_login(client):
    """It sends anonymous visitors to the login page, and places nothing for them."""
    for response in (client.get("/orders/"), client.post("/orders/", {"quantity": "1"})):
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")
    assert not Order.objects.exists()


def test_placing_an_order_starts_it_after_the_commit(alice_client):
    """POST places the order and starts its processing, which runs it to done (here, in
    the request or in an eager task); the answer is the order as placed."""
    response = alice_client.post("/orders/", {"quantity": "2"}, **JSON)
    assert response.status_code == 201
    placed = response.json()
    assert (placed["status"], placed["quantity"]) == ("pending", 2)
    detail = alice_client.get(f"/orders/{placed['order_id']}/").json()
    assert detail["status"] == "done"


def test_a_form_post_without_javascript_comes_back_to_the_page(alice_client):
    """A plain form POST is answered with a redirect to the page, which lists the order."""
    response = alice_client.post("/orders/", {"quantity": "1"})
    assert (response.status_code, response["Location"]) == (302, "/orders/")
    page = alice_client.get("/orders/")
    order = Order.objects.get()
    assert f'data-id="{order.pk}" data-status="done"'.encode() in page.content
    assert b"orders/orders.js" in page.content


@pytest.mark.parametrize("quantity", ["0", "many", str(services.MAX_QUANTITY + 1)])
def test_a_bad_quantity_is_refused_with_advice(alice_client, quantity):
    """It answers 400 saying what to enter, and places nothing."""
    response = alice_client.post("/orders/", {"quantity": quantity}, **JSON)
    assert response.status_code == 400
    assert "quantity from 1 to" in response.json()["detail"]
    assert alice_client.post("/orders/", {"quantity": quantity}).status_code == 400
    assert not Order.objects.exists()


def test_placing_needs_the_csrf_token(make_user):
    """A POST without the page's CSRF token is refused."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(make_user("alice"))
    assert client.post("/orders/", {"quantity": "1"}).status_code == 403
    assert not Order.objects.exists()


def test_another_users_order_is_not_found(alice_client, make_user):
    """Another user's order answers 404, as one that does not exist, and is not listed."""
    theirs = services.order_create(user=make_user("bob"))
    assert alice_client.get(f"/orders/{theirs.pk}/").status_code == 404
    assert alice_client.get("/orders/999/").status_code == 404
    assert f'data-id="{theirs.pk}"'.encode() not in alice_client.get("/orders/").content


def test_a_failed_order_shows_why(alice_client, settings):
    """An order larger than the stock ends failed, with the reason, on the page too."""
    settings.ORDER_STOCK = 1
    placed = alice_client.post("/orders/", {"quantity": "2"}, **JSON).json()
    detail = alice_client.get(f"/orders/{placed['order_id']}/").json()
    assert (detail["status"], detail["error"]) == ("failed", "only 1 in stock: order at most 1")
    assert b"only 1 in stock" in alice_client.get("/orders/").content
