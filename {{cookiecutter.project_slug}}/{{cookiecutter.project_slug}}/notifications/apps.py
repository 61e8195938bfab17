"""Server push to one user, from anywhere: the article's notify_user."""

from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = __name__.rpartition(".")[0]
    label = "notifications"
