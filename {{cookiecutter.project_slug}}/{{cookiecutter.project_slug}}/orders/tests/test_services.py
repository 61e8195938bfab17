"""Orders: each step saved in its own transaction, then told to the owner, once."""

import pytest
from asgiref.sync import sync_to_async
from django.core.management import CommandError, call_command

from tests.fixtures import communicator, login

from .. import services
from ..models import Order

pytestmark = pytest.mark.django_db(transaction=True)
STEPS = ["processing", "shipped", "done"]


def statuses(pushes) -> list[str]:
    return [push.status for push in pushes]


def test_an_order_is_placed_pending_and_its_owner_told(make_user, pushed):
    """It saves a pending order and tells its owner, and only its owner, after the commit."""
    alice = make_user("alice")
    order = services.order_create(user=alice, quantity=2)
    assert (order.status, order.quantity) == ("pending", 2)
    assert [(push.user_id, push.status, push.saved) for push in pushed] == [
        (alice.pk, "pending", "pending")
    ]


@pytest.mark.parametrize("quantity", [0, -1, services.MAX_QUANTITY + 1, "3", 2.0, True])
def test_a_quantity_outside_the_range_is_refused(make_user, quantity):
    """It refuses anything but a whole number from 1 to MAX_QUANTITY, and saves nothing."""
    with pytest.raises(services.InvalidQuantity):
        services.order_create(user=make_user("alice"), quantity=quantity)
    assert not Order.objects.exists()


def test_processing_saves_each_step_before_telling_the_owner(make_user, pushed):
    """It advances the order to done, one step at a time, each told once it is saved."""
    order = services.order_create(user=make_user("alice"))
    pushed.clear()
    assert services.order_process(order_id=order.pk).status == "done"
    assert statuses(pushed) == STEPS
    assert all(push.saved == push.status for push in pushed)


def test_processing_again_takes_no_step_twice(make_user, pushed):
    """A redelivered task changes nothing once the order is done, and tells no one."""
    order = services.order_create(user=make_user("alice"))
    services.order_process(order_id=order.pk)
    pushed.clear()
    assert services.order_process(order_id=order.pk).status == "done"
    assert pushed == []


def test_processing_resumes_where_a_dead_worker_left_it(make_user, pushed):
    """It takes only the steps still to take after the last committed one."""
    order = services.order_create(user=make_user("alice"))
    Order.objects.filter(pk=order.pk).update(status="processing")
    pushed.clear()
    services.order_process(order_id=order.pk)
    assert statuses(pushed) == ["shipped", "done"]


def test_an_order_larger_than_the_stock_fails_and_its_owner_is_told(make_user, pushed, settings):
    """It ends the order failed, with the reason, never shipped, and tells its owner."""
    settings.ORDER_STOCK = 3
    order = services.order_create(user=make_user("alice"), quantity=4)
    pushed.clear()
    failed = services.order_process(order_id=order.pk)
    assert (failed.status, failed.error) == ("failed", "only 3 in stock: order at most 3")
    assert statuses(pushed) == ["processing", "failed"]
    assert pushed[-1].error == failed.error


def test_a_step_that_breaks_after_its_save_is_undone_and_the_order_failed(
    make_user, pushed, monkeypatch
):
    """A step is one transaction: an error after its save undoes it, and order_run ends the
    order failed (never shipped), telling its owner."""
    order = services.order_create(user=make_user("alice"))
    record = services.notify_user

    def breaks_when_shipped(user_id: int, payload: dict) -> None:
        if payload["status"] == "shipped":
            raise RuntimeError("a bug after the save")
        record(user_id, payload)

    monkeypatch.setattr(services, "notify_user", breaks_when_shipped)
    pushed.clear()
    ended = services.order_run(order_id=order.pk)
    assert (ended.status, ended.error) == ("failed", services.INTERNAL_ERROR)
    assert statuses(pushed) == ["processing", "failed"]


def test_failing_an_ended_order_changes_nothing(make_user, pushed):
    """order_fail leaves a done order done and tells no one."""
    order = services.order_create(user=make_user("alice"))
    services.order_process(order_id=order.pk)
    pushed.clear()
    assert services.order_fail(order_id=order.pk, reason="late").status == "done"
    assert pushed == []


def test_the_command_processes_an_order_here(make_user, capsys):
    """`manage.py process_order <id>` runs the order to its end and says where it ended."""
    order = services.order_create(user=make_user("alice"))
    call_command("process_order", str(order.pk))
    assert capsys.readouterr().out.strip() == f"Order {order.pk} is done."
    with pytest.raises(CommandError, match="no order 999"):
        call_command("process_order", "999")


async def test_the_owners_sockets_hear_each_step_and_no_one_else_does(make_user):
    """Through the real routing, the owner's notification socket hears every status of
    the order, and another user's socket hears nothing of it."""
    alice, bob = [await sync_to_async(make_user)(name) for name in ("alice", "bob")]
    owner = communicator("/ws/notifications/", login=await sync_to_async(login)(alice))
    other = communicator("/ws/notifications/", login=await sync_to_async(login)(bob))
    for client in (owner, other):
        assert (await client.connect())[0]
    order = await sync_to_async(services.order_create)(user=alice)
    await sync_to_async(services.order_process)(order_id=order.pk)
    heard = [await owner.receive_json_from(timeout=5) for _ in range(4)]
    assert [frame["status"] for frame in heard] == ["pending", *STEPS]
    assert {frame["order_id"] for frame in heard} == {order.pk}
    assert heard[-1]["event"] == "order_updated"
    assert await other.receive_nothing(timeout=0.3)
    for client in (owner, other):
        await client.disconnect()
