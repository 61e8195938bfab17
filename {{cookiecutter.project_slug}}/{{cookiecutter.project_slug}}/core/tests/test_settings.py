"""Settings read from the environment, and the production checks."""

import os
import re
import secrets
import subprocess

from config.layers import channel_layers
from tests.fixtures import PROJECT_DIR, manage_process

PRODUCTION = {
    "DJANGO_DEBUG": "false",
    "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
    "DJANGO_ALLOWED_HOSTS": "chat.example.com",
    "REDIS_URL": "redis://127.0.0.1:6379/0",
}


def manage(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    environ.update(env)
    return manage_process(environ, *args)


def test_deploy_check_is_clean_with_production_settings():
    """`manage.py check --deploy --fail-level WARNING` passes with production settings."""
    result = manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_a_missing_secret_key_stops_production_with_advice():
    """It refuses to start without DJANGO_SECRET_KEY when DEBUG is off, and says what to do."""
    env = {**PRODUCTION, "DJANGO_SECRET_KEY": ""}
    result = manage("check", **env)
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY is not set" in result.stderr


def test_redis_hosts_keep_idle_sockets_alive():
    """It configures Redis with a socket timeout well above the layer's 5 s blocking pop."""
    config = channel_layers("redis://127.0.0.1:6379/0")["default"]["CONFIG"]
    host = config["hosts"][0]
    assert host["socket_timeout"] is None or host["socket_timeout"] > 10
    assert host["max_connections"] >= 1000
    assert config["capacity"] >= 1000


def test_socket_age_and_group_expiry_are_one_setting(settings):
    """Group membership lasts WEBSOCKET_MAX_AGE, the age at which the app closes sockets."""
    assert settings.CHANNEL_LAYERS["default"]["CONFIG"]["group_expiry"] == (
        settings.WEBSOCKET_MAX_AGE
    )
    assert channel_layers("redis://x")["default"]["CONFIG"]["group_expiry"] == 86400
    script = (PROJECT_DIR / "bin" / "serve").read_text()
    if "daphne" in script:
        # Daphne's own limit is only a backstop: it must not close sockets first.
        assert re.search(r"--websocket_timeout \"\$\(\(max_age \+ \d+\)\)\"", script)
