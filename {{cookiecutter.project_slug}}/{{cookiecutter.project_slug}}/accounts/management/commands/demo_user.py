"""manage.py demo_user: create (or reset) a user to try the project with."""

import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = "Creates a user, or resets its password, and prints the credentials."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username", nargs="?", default="demo")
        parser.add_argument("--password", help="default: a new random password")

    def handle(self, *args: object, username: str, password: str | None, **options: object):
        password = password or secrets.token_urlsafe(9)
        user_model = get_user_model()
        user, created = user_model.objects.get_or_create(**{user_model.USERNAME_FIELD: username})
        user.set_password(password)
        user.save()
        verb = "Created" if created else "Reset"
        self.stdout.write(f"{verb} user {username!r} with password {password!r}")
