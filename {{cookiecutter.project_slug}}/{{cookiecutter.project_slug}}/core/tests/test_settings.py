"""Settings read from the environment, and the production checks."""

import os
import re
import secrets
import subprocess

import environ
import pytest
from django.core.management import call_command

from config.layers import channel_layers, redis_cache
from tests.fixtures import PROJECT_DIR, manage_process, shipped_timers

from .. import channel_layer

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


def test_secret_key_fallbacks_come_from_the_environment():
    """DJANGO_SECRET_KEY_FALLBACKS is a comma-separated list of earlier secret keys."""
    keys = [secrets.token_urlsafe(50), secrets.token_urlsafe(50)]
    script = "from django.conf import settings; print(settings.SECRET_KEY_FALLBACKS)"
    env = {**PRODUCTION, "DJANGO_SECRET_KEY_FALLBACKS": ",".join(keys)}
    result = manage("shell", "-c", script, **env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == repr(keys)


def test_the_layers_redis_connections_are_sized_and_timed():
    """Its Redis pool makes a burst wait rather than fail; a quiet subscription is never
    timed out; a join gives up before the handshake timeout."""
    config = channel_layers("redis://127.0.0.1:6379/0")["default"]["CONFIG"]
    host = config["hosts"][0]
    assert host["max_connections"] >= 100
    assert host["pool_timeout"] > 0
    # The subscription reader waits READ_TIMEOUT for a message, then checks the
    # connection: a socket timeout below that would end every quiet wait in an error.
    assert host["socket_timeout"] > channel_layer.READ_TIMEOUT
    assert host["socket_connect_timeout"] <= channel_layer.SUBSCRIBE_TIMEOUT
    assert host["health_check_interval"] > channel_layer.READ_TIMEOUT
    assert config["capacity"] >= 1000


def test_the_cache_is_sized_and_timed_and_works_on_real_redis(redis_url):
    """Django's Redis cache takes the options: a waiting pool, timeouts (and it works)."""
    import redis as redis_py
    from django.core.cache.backends.redis import RedisCache

    entry = redis_cache(redis_url, max_connections=7)
    cache = RedisCache(entry["LOCATION"], {"OPTIONS": entry["OPTIONS"]})
    cache.set("sized", 1)
    assert cache.get("sized") == 1
    pool = cache._cache.get_client().connection_pool
    assert isinstance(pool, redis_py.BlockingConnectionPool)
    assert (pool.max_connections, pool.timeout) == (7, 30)
    assert pool.connection_kwargs["socket_timeout"] == 10
    assert redis_cache("", max_connections=7)["BACKEND"].endswith("LocMemCache")


def test_several_redis_urls_make_one_shard_each():
    """REDIS_URL may list several servers: the layer (and presence) shard over all of them."""
    hosts = channel_layers("redis://a:6379/0, redis://b:6380/0")["default"]["CONFIG"]["hosts"]
    assert [host["address"] for host in hosts] == ["redis://a:6379/0", "redis://b:6380/0"]
    assert hosts[0] == {**hosts[1], "address": "redis://a:6379/0"}


def test_the_socket_age_is_the_applications():
    """The application closes sockets at WEBSOCKET_MAX_AGE; Daphne's own limit is a backstop."""
    script = (PROJECT_DIR / "bin" / "serve").read_text()
    backstop = re.search(r"--websocket_timeout \"\$\(\(max_age \+ (\d+)\)\)\"", script)
    assert backstop or "daphne" not in script


def test_system_checks_pass():
    """Django's system checks pass, warnings included."""
    call_command("check", fail_level="WARNING")


@pytest.mark.django_db
def test_no_migrations_are_missing():
    """The models match the migrations the project ships."""
    call_command("makemigrations", check=True, dry_run=True, verbosity=0)


def test_the_shipped_timers_fit_together():
    """Pings come within the ping timeout, and two presence heartbeats within the cutoff."""
    timers = shipped_timers()
    ping = timers["WEBSOCKET_PING_INTERVAL"]
    assert ping == timers["serve ping interval"]  # .env.example tells the truth
    assert ping < timers["serve ping timeout"]
    if "PRESENCE_CUTOFF" in timers:
        # Two heartbeats fit in the cutoff, so a live user is never pruned between them.
        assert 2 * timers["PRESENCE_REFRESH_INTERVAL"] <= timers["PRESENCE_CUTOFF"]


def test_the_tests_run_on_test_database_url_or_sqlite_in_memory(settings):
    """The test process never uses DATABASE_URL: TEST_DATABASE_URL's server, or SQLite."""
    url = os.environ.get("TEST_DATABASE_URL") or "sqlite://:memory:"
    assert settings.DATABASES["default"]["ENGINE"] == environ.Env.db_url_config(url)["ENGINE"]
