"""Fixtures of the orders tests: instant steps, and what the owners were told."""

from dataclasses import dataclass

import pytest
from django.db import transaction

from .. import services
from ..models import Order


@dataclass(frozen=True)
class Push:
    """One notification of an order's status, and the status saved when it went out."""

    user_id: int
    status: str
    error: str
    saved: str


@pytest.fixture(autouse=True)
def _instant_steps(settings) -> None:
    settings.ORDER_STEP_SECONDS = 0


@pytest.fixture
def pushed(monkeypatch: pytest.MonkeyPatch) -> list[Push]:
    """Records each notification services send, when it would be published (after commit)."""
    sent: list[Push] = []

    def record(user_id: int, payload: dict) -> None:
        def publish() -> None:
            saved = Order.objects.get(pk=payload["order_id"]).status
            sent.append(Push(user_id, payload["status"], payload["error"], saved))

        transaction.on_commit(publish)

    monkeypatch.setattr(services, "notify_user", record)
    return sent
