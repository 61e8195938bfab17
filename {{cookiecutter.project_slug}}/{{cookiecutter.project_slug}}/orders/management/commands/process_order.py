"""manage.py process_order <id>: process an order here and now, without a task queue."""

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ...models import Order
from ...services import order_run


class Command(BaseCommand):
    help = "Processes an order in this process (a pending or stuck one), telling its owner."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("order_id", type=int)

    def handle(self, *args: object, order_id: int, **options: object) -> None:
        try:
            order = order_run(order_id=order_id)
        except Order.DoesNotExist:
            raise CommandError(f"no order {order_id}") from None
        suffix = f": {order.error}" if order.error else ""
        self.stdout.write(f"Order {order.pk} is {order.status}{suffix}.")
