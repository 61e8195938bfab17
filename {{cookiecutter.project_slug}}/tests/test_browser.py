"""The pages in a real browser: headless Chromium (Playwright) against real server processes.

The module starts two production servers of its own (the `site` fixture), so that it can
kill, stop and restart them.
"""

import json
import os
import re
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.apps import apps
from django.conf import settings
from playwright.sync_api import Browser, Page, expect

from tests.auth import browser_sign_in
from tests.fixtures import Site
from tests.processes import start_server

pytestmark = [pytest.mark.live, pytest.mark.browser]

# The page's client, quick enough for tests: a half-open socket is found within 3 s, and
# no reconnect waits more than a second. The pong may take 2 s: 32 suites share two cores.
CLIENT_OPTIONS = {"heartbeat": 1000, "pongTimeout": 2000, "openTimeout": 3000, "cap": 1000}
# Every wait for the page, in ms: generous for a loaded machine, never a fixed sleep.
WAIT = 20_000
expect.set_options(timeout=WAIT)


@pytest.fixture
def open_room(chromium: Browser, site: Site) -> Iterator:
    """Opens a room page as a user, in a browser context (a browser profile) of its own."""
    contexts = []

    def open_as(name: str, room: str, server: int = 0) -> Page:
        context = chromium.new_context(viewport={"width": 390, "height": 844})
        contexts.append(context)
        context.add_init_script(f"window.chatSocketOptions = {json.dumps(CLIENT_OPTIONS)};")
        # Every close code the page's socket saw, for the tests to check.
        context.add_init_script(
            "window.closeCodes = [];"
            "addEventListener('load', () => window.chatRoom?.socket.addEventListener("
            "'close', (event) => window.closeCodes.push(event.detail.code)));"
        )
        page = context.new_page()
        browser_sign_in(page, site.url(server), name, site.users)
        page.goto(f"{site.url(server)}/")
        page.get_by_label("Open a room").fill(room)
        page.get_by_role("button", name="Open").click()
        expect(page.locator("#connection")).to_have_attribute("data-state", "live")
        return page

    yield open_as
    for context in contexts:
        context.close()


def post(page: Page, text: str) -> None:
    page.get_by_label("Message", exact=True).fill(text)
    page.get_by_role("button", name="Send").click()


def message(page: Page, text: str):
    """The log's entries whose text is ``text``."""
    return page.locator("#log li").filter(has=page.get_by_text(text, exact=True))


def sent(page: Page, text: str) -> None:
    """Waits until ``text`` shows on ``page`` acknowledged, then checks it shows once."""
    expect(message(page, text).and_(page.locator("[data-state=sent]"))).to_have_count(1)
    expect(message(page, text)).to_have_count(1)


def test_two_users_chat(open_room, tmp_path: Path) -> None:
    """Two users in two browsers see each other's messages, with sender and time, and the
    members online; the sender's post is marked until acknowledged."""
    alice = open_room("alice", "browser lobby")
    bob = open_room("bob", "browser lobby", server=1)
    post(alice, "hello bob")
    sent(alice, "hello bob")
    line = message(bob, "hello bob")
    expect(line).to_have_count(1)
    expect(line.locator("strong")).to_have_text("alice")
    expect(line.locator("time")).to_have_attribute("datetime", re.compile(r"^\d{4}-"))
    post(bob, "hi alice")
    expect(message(alice, "hi alice")).to_have_count(1)
    if settings.SOCKET_AUTH == "jwt":
        # Its first token has expired: refreshed over the socket, never closed for it.
        alice.wait_for_function("window.chatRoom.socket.refreshed >= 2")
        post(alice, "still here")
        sent(alice, "still here")
        assert 4001 not in alice.evaluate("window.closeCodes")
    alice.screenshot(path=tmp_path / "room.png", full_page=True)
    assert (tmp_path / "room.png").stat().st_size > 0


def test_members_online_follow_joins_and_leaves(open_room) -> None:
    """The members list shows who is in the room, and drops a user who leaves."""
    alice = open_room("alice", "browser members")
    members = alice.locator("#members-list li")
    if not any(app.label == "presence" for app in apps.get_app_configs()):
        expect(alice.locator("#members")).to_have_count(0)
        return
    expect(members).to_have_text(["alice"])
    bob = open_room("bob", "browser members", server=1)
    expect(members).to_have_text(["alice", "bob"])
    expect(bob.locator("#members-count")).to_have_text("2")
    bob.close()
    expect(members).to_have_text(["alice"])


@pytest.mark.parametrize("room", ["café lounge ☕ 東京", "a long room name " + "x" * 83])
def test_room_names_render(open_room, site: Site, room: str) -> None:
    """A Unicode room name and one of 100 characters show as typed, in the page, its
    title and the room list, and their sockets work."""
    page = open_room("carol", room)
    expect(page.locator("h1")).to_have_text(room)
    expect(page).to_have_title(f"{room} · {settings.PROJECT_NAME}")
    post(page, f"hello {room}")
    sent(page, f"hello {room}")
    page.goto(f"{site.url()}/")
    expect(page.get_by_role("link", name=room, exact=True)).to_be_visible()


def test_page_rides_out_a_server_killed_and_restarted(open_room, site: Site) -> None:
    """A server killed under a page: the page says so, reconnects by itself once the server
    is back, shows each message posted meanwhile once, and delivers once the post typed
    while it was away."""
    alice = open_room("alice", "browser restart")
    bob = open_room("bob", "browser restart", server=1)
    post(bob, "before")
    expect(message(alice, "before")).to_have_count(1)
    port, process = next(iter(site.processes.items()))
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)
    try:
        connection = alice.locator("#connection")
        expect(connection).not_to_have_attribute("data-state", "live")
        expect(connection).to_contain_text("Reconnecting in")
        post(alice, "typed while away")
        expect(message(alice, "typed while away")).to_have_attribute("data-state", "pending")
        missed = [f"missed {n}" for n in range(3)]
        for text in missed:
            post(bob, text)
            sent(bob, text)
    finally:
        # Back on its port, whatever failed: the module's other tests use it.
        with site.log.open("ab") as log:
            site.processes[port] = start_server(site.env, port, log)
    expect(connection).to_have_attribute("data-state", "live")
    sent(alice, "typed while away")
    # Whatever a reconnect sends twice would arrive before this.
    post(bob, "after")
    for page in (alice, bob):
        expect(message(page, "after")).to_have_count(1)
        for text in ["before", *missed, "typed while away"]:
            expect(message(page, text)).to_have_count(1)
    texts = alice.locator("#log li p").all_text_contents()
    assert texts[-6:] == ["before", *missed, "typed while away", "after"]


def test_page_finds_a_half_open_socket(open_room, site: Site) -> None:
    """A server that stops answering (SIGSTOP: the connection stays open) is found by the
    heartbeat within its bound, and the page is live again once the server answers."""
    alice = open_room("alice", "browser heartbeat", server=1)
    process = list(site.processes.values())[1]
    connection = alice.locator("#connection")
    os.killpg(process.pid, signal.SIGSTOP)
    try:
        bound = CLIENT_OPTIONS["heartbeat"] + CLIENT_OPTIONS["pongTimeout"]
        # Without the heartbeat the page would stay "live" for good.
        expect(connection).not_to_have_attribute("data-state", "live", timeout=bound + 3000)
    finally:
        os.killpg(process.pid, signal.SIGCONT)
    expect(connection).to_have_attribute("data-state", "live")
    post(alice, "answered again")
    sent(alice, "answered again")
