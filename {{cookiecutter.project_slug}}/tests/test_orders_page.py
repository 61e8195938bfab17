"""The orders page in a real browser: an order placed there moves on without a reload.

With Celery a worker of the test's own processes it (tests/background.py); without, the
request that placed it does.
"""

from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from tests.auth import browser_sign_in
from tests.background import order_processing
from tests.fixtures import Site

pytestmark = [pytest.mark.live, pytest.mark.browser]

# Every wait for the page, in ms: generous for a loaded machine, never a fixed sleep.
expect.set_options(timeout=20_000)


def test_an_order_moves_on_its_page_without_a_reload(
    chromium: Browser, site: Site, tmp_path: Path
) -> None:
    """A signed-in user places an order on /orders/ and watches its row go from pending to
    done, each step pushed over the notification socket; too large an order shows failed,
    with the reason."""
    with order_processing(site.env, tmp_path):
        context = chromium.new_context(viewport={"width": 390, "height": 844})
        try:
            page = context.new_page()
            browser_sign_in(page, site.url(), "carol", site.users)
            page.goto(f"{site.url()}/orders/")
            expect(page.locator("#connection")).to_have_attribute("data-state", "live")
            # Every status the row shows, in order, as the page changes it.
            page.evaluate(
                """() => { window.statuses = []; new MutationObserver(() => {
                    const row = document.querySelector("#orders tbody tr");
                    const status = row && row.dataset.status;
                    if (status && window.statuses.at(-1) !== status) window.statuses.push(status);
                  }).observe(document.querySelector("#orders tbody"),
                             {subtree: true, childList: true, attributes: true}); }"""
            )
            page.get_by_role("button", name="Place order").click()
            row = page.locator("#orders tbody tr").first
            expect(row).to_have_attribute("data-status", "done")
            assert page.evaluate("window.statuses").count("done") == 1
            assert {"processing", "shipped"} <= set(page.evaluate("window.statuses"))
            page.get_by_label("Place an order").fill("11")
            page.get_by_role("button", name="Place order").click()
            expect(row).to_have_attribute("data-status", "failed")
            expect(row.locator(".note")).to_have_text("only 10 in stock: order at most 10")
        finally:
            context.close()
