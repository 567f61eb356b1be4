"""The workspace when no model is ready yet, on a team stack in real Chromium: the status line says so, a click is
answered `busy` and shown as waiting (not a spinner that runs into a time-out), and once a worker has warmed up the
status clears and the waiting click is computed by the client's own retry — no second click needed."""

import threading
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, expect

from tests.browser.conftest import screenshot, wait_for_js
from tests.browser.test_workspace import LLAMA_FIRST_CLICK, click_image, new_page, open_workspace, photo, wait_mask
from tests.live_stack import Stack, run_stack

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

__all__ = ["photo"]  # the fixture, used here with this module's stack


@pytest.fixture(scope="module")
def stack(tmp_path_factory, django_db_setup, django_db_blocker) -> Iterator[Stack]:
    from backend.web.templatetags.vite import MANIFEST

    assert MANIFEST.exists(), "The browser client is not built: run `make frontend` (make test does)."
    yield from run_stack(tmp_path_factory, team=True, workers=0)  # the test starts the worker


def test_a_click_before_the_model_is_ready_waits_visibly_and_is_computed_once_it_is(
    stack, world, photo, browser: Browser
):
    context, page = new_page(browser)
    try:
        open_workspace(page, stack, photo.pk, login=True)
        model = page.locator("#ws-model")
        expect(model).to_have_attribute("data-state", "no_workers")
        expect(model).to_contain_text("Model not available")

        click_image(page, *LLAMA_FIRST_CLICK)
        pending = page.locator("#ws-pending")
        expect(pending).to_have_attribute("data-state", "waiting", timeout=10_000)
        expect(pending).to_contain_text("No inference worker is ready")
        screenshot(page, "workspace-model-not-ready")

        starting = threading.Thread(target=stack.start_worker, args=("worker1",))
        starting.start()
        expect(model).to_have_attribute("data-state", "ready", timeout=120_000)
        expect(model).to_have_text("")
        wait_mask(page, 1)  # the client's retry, after the server's hint
        wait_for_js(page, "window.edgeflow.state().maskArea > 0")
        expect(pending).to_have_attribute("data-state", "idle")
        starting.join(120)
    finally:
        context.close()
