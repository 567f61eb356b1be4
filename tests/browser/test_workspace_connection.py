"""The workspace tells the truth about its connection, in real Chromium against a live daphne (embedded inference).

Offline is shown at once (never "Connected") and a click made then says at once that it cannot be computed; a
click being computed shows the pending indicator (in the status line and a ring turning at its marker); after a
server outage the socket is back within a couple of seconds of the server, and the click made meanwhile is
computed. The last test restarts this module's daphne, so the module has its own stack.
"""

import json
import re
import sys
import time
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, WebSocketRoute, expect

from tests.browser.conftest import screenshot, wait_for_js
from tests.browser.test_workspace import LLAMA_FIRST_CLICK, click_image, new_page, open_workspace, photo, wait_mask
from tests.live_stack import Stack, run_stack
from tests.waiting import wait_until

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

__all__ = ["photo"]  # the fixture, used here with this module's stack

RETRY_MAX_MS = 2000  # frontend/src/socket.ts: no wait between attempts is longer (a server back is found soon)


@pytest.fixture(scope="module")
def stack(tmp_path_factory, django_db_setup, django_db_blocker) -> Iterator[Stack]:
    from backend.web.templatetags.vite import MANIFEST

    assert MANIFEST.exists(), "The browser client is not built: run `make frontend` (make test does)."
    yield from run_stack(tmp_path_factory, team=False, workers=0)


def connection(page: Page):
    return page.locator("#ws-connection")


def pending_rings(page: Page, state: str) -> int:
    return page.evaluate(f"window.edgeflow.canvas.stage.find('.pending-{state}').length")


def test_offline_is_shown_at_once_and_a_click_then_cannot_be_computed(stack, world, photo, browser: Browser) -> None:
    context, page = new_page(browser)
    open_workspace(page, stack, photo.pk, login=True)
    expect(connection(page)).to_have_text("● Connected")

    context.set_offline(True)
    expect(connection(page)).to_have_attribute("data-state", "offline", timeout=2_000)
    expect(connection(page)).not_to_contain_text("Connected")
    click_image(page, *LLAMA_FIRST_CLICK)
    # Said at once: the status line and the marker, with no mask and no wait.
    expect(page.locator("#ws-pending")).to_have_attribute("data-state", "unsent", timeout=1_000)
    expect(page.locator("#ws-pending")).to_contain_text("Cannot compute the mask now: the browser is offline")
    assert pending_rings(page, "unsent") == 1 and page.evaluate("window.edgeflow.state().maskArea") == 0
    screenshot(page, "workspace-offline-click")

    context.set_offline(False)  # back online: reconnected at once, the click is computed
    wait_for_js(page, "window.edgeflow.state().connections === 2", timeout=30_000)
    assert page.evaluate("window.edgeflow.state().longestRetryWaitMs") <= RETRY_MAX_MS
    expect(connection(page)).to_have_attribute("data-state", "connected")
    wait_mask(page, clicks=1)
    assert page.evaluate("window.edgeflow.state().maskArea") > 10_000
    expect(page.locator("#ws-pending")).to_have_attribute("data-state", "idle")
    assert pending_rings(page, "unsent") == 0
    context.close()


def test_a_click_being_computed_shows_the_pending_indicator(stack, world, photo, browser: Browser) -> None:
    """The server's masks are held back in the browser's socket until the test has seen the indicator."""
    context, page = new_page(browser)
    held: list[str] = []
    routes: list[WebSocketRoute] = []
    holding = {"on": False}

    def route(ws: WebSocketRoute) -> None:
        server = ws.connect_to_server()
        routes.append(ws)
        ws.on_message(lambda message: server.send(message))

        def from_server(message: str | bytes) -> None:
            if holding["on"] and isinstance(message, str) and json.loads(message).get("type") == "mask":
                held.append(message)
            else:
                ws.send(message)

        server.on_message(from_server)

    page.route_web_socket(re.compile(r".*/annotate/$"), route)
    open_workspace(page, stack, photo.pk, login=True)
    holding["on"] = True
    click_image(page, *LLAMA_FIRST_CLICK)
    pending = page.locator("#ws-pending")
    expect(pending).to_have_attribute("data-state", "computing", timeout=2_000)
    expect(pending).to_contain_text("Computing the mask")
    expect(pending.locator(".ws-spinner")).to_be_visible()
    assert pending_rings(page, "computing") == 1
    # The mask comes to the browser's door and waits there (page.evaluate lets Playwright dispatch the frames).
    wait_until(lambda: page.evaluate("0") == 0 and held, timeout=60, what="the server's mask, held back")
    screenshot(page, "workspace-pending-indicator")

    holding["on"] = False
    for message in held:
        routes[-1].send(message)
    wait_mask(page, clicks=1)
    expect(pending).to_have_attribute("data-state", "idle")
    assert pending_rings(page, "computing") == 0 and page.evaluate("window.edgeflow.state().maskArea") > 10_000
    context.close()


def test_after_a_server_outage_the_socket_is_back_within_seconds(stack, world, photo, browser: Browser) -> None:
    context, page = new_page(browser)
    open_workspace(page, stack, photo.pk, login=True)
    click_image(page, *LLAMA_FIRST_CLICK)
    wait_mask(page, clicks=1)

    daphne = next(p for p in stack.processes if p.name.startswith("daphne") and p.popen.poll() is None)
    port = stack.url.rsplit(":", 1)[1]
    daphne.kill()
    expect(connection(page)).to_have_attribute("data-state", "reconnecting", timeout=5_000)
    click_image(page, 100, 60, "right")  # made during the outage: said at once that it waits
    expect(page.locator("#ws-pending")).to_have_attribute("data-state", "unsent", timeout=1_000)
    expect(page.locator("#ws-pending")).to_contain_text("no connection to the server")
    time.sleep(6)  # an outage long enough for the old backoff (up to 8 s between attempts) to show

    args = [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", port, "backend.config.asgi:application"]
    stack.start("daphne-restarted", args, ready="Listening on TCP address")
    wait_for_js(page, "window.edgeflow.state().connections === 2", timeout=30_000)
    longest = page.evaluate("window.edgeflow.state().longestRetryWaitMs")
    assert 0 < longest <= RETRY_MAX_MS, f"waited up to {longest} ms between attempts during the outage"
    expect(connection(page)).to_have_attribute("data-state", "connected")
    wait_for_js(page, "window.edgeflow.state().awaiting === null && window.edgeflow.state().clicks === 2", 90_000)
    expect(page.locator("#ws-pending")).to_have_attribute("data-state", "idle")
    assert page.evaluate("window.edgeflow.state().maskArea") > 0
    context.close()
