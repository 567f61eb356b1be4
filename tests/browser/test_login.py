"""A person logs in through the real login page in Chromium and reaches the demo project."""

import pytest
from django.core.management import call_command
from playwright.sync_api import Page, expect

from tests.browser.conftest import screenshot, wait_for_js

pytestmark = pytest.mark.browser


@pytest.fixture
def demo(transactional_db) -> None:
    call_command("load_demo")


def test_annotator_logs_in_and_sees_the_demo_project(live_server, demo, page: Page) -> None:
    page.goto(f"{live_server.url}/")
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    page.fill("#id_username", "demo-annotator")
    page.fill("#id_password", "wrong")
    page.click("button[type=submit]")
    expect(page.get_by_text("Wrong username or password")).to_be_visible()
    page.fill("#id_username", "demo-annotator")
    page.fill("#id_password", "demo-annotator")
    page.click("button[type=submit]")
    expect(page.get_by_role("heading", name="Projects")).to_be_visible()
    screenshot(page, "login-projects")
    page.get_by_role("link", name="Demo project").click()
    expect(page.get_by_role("heading", name="Demo project")).to_be_visible()
    thumbnails = page.locator(".grid img")
    expect(thumbnails).to_have_count(5)  # only the images of the annotator's batch
    wait_for_js(page, "Array.from(document.images).every(i => i.complete && i.naturalWidth > 0)")
    screenshot(page, "demo-project")
