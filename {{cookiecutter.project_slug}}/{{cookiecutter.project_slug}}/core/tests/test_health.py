"""GET /healthz."""

import pytest

from tests.fixtures import free_port

pytestmark = pytest.mark.django_db


def test_healthy_without_redis(client, settings):
    """It answers 200 with the database ok and Redis not configured."""
    settings.REDIS_URL = ""
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "checks": {"database": "ok", "redis": "not configured"},
    }


def test_healthy_with_redis(client, settings, redis_url):
    """It answers 200 when Redis answers PING."""
    settings.REDIS_URL = redis_url
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["checks"]["redis"] == "ok"


def test_unhealthy_when_redis_is_down(client, settings):
    """It answers 503 and names the failing check when Redis does not answer."""
    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["status"] == "error"
    assert response.json()["checks"]["redis"].startswith("error: ")
    assert response.json()["checks"]["database"] == "ok"
