"""Playwright driving Debian's Chromium (/usr/bin/chromium); screenshots go to test-artifacts/."""

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from tests.conftest import REPO_DIR
from tests.waiting import wait_until

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
ARTIFACTS = Path(os.environ.get("TEST_ARTIFACTS_DIR", REPO_DIR / "test-artifacts"))

# Playwright's sync API runs an event loop in this thread; the ORM calls made by tests here are still synchronous.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Each phase's report on the test item (``rep_setup``, ``rep_call``), for fixtures that react to failures."""
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    yield page
    context.close()


def log_in(page: Page, base_url: str, username: str, password: str, next_url: str = "") -> None:
    """Through the real login page; lands on ``next_url`` (or the project list)."""
    page.goto(f"{base_url}/accounts/login/" + (f"?next={next_url}" if next_url else ""))
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button[type=submit]")


def wait_for_js(page: Page, expression: str, timeout: float = 30_000) -> object:
    """Poll a JavaScript expression in the page until it is truthy (``timeout`` in ms, like Playwright's).

    Playwright's ``wait_for_function`` evaluates its predicate with eval, which the pages' Content-Security-Policy
    forbids; ``page.evaluate`` goes through the DevTools protocol and is not subject to it.
    """
    return wait_until(lambda: page.evaluate(expression), timeout=timeout / 1000, what=expression, every=0.05)


def screenshot(page: Page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
