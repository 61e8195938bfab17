"""Makes the shared fixtures (tests/fixtures.py) available to every test."""

pytest_plugins = ["tests.fixtures"]
