"""The annotator submits their batch from the project page, warned in-page about the images without objects;
afterwards the workspace of one of its images sends them to the read-only view, which says why."""

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import ARTIFACTS, log_in, screenshot, wait_for_js
from tests.conftest import World, png_bytes, upload_to_batch

pytestmark = pytest.mark.browser


def test_annotator_submits_from_the_project_page_and_then_sees_the_image_read_only(
    live_server, transactional_db, world: World, page: Page, browser: Browser
) -> None:
    from backend.images.models import Batch

    upload_to_batch(world, "c.png", png_bytes(seed=5))
    upload_to_batch(world, "d.png", png_bytes(seed=6))  # two of the batch's three images have no object
    violations: list[str] = []
    page.on("console", lambda message: violations.append(message.text) if "Content Security" in message.text else None)
    log_in(page, live_server.url, "annotator", "pw-annotator", next_url=f"/projects/{world.project.pk}/")
    row = page.locator(f'#batches tr[data-batch="{world.batch.pk}"]')
    expect(row.locator(".batch-status")).to_have_text("Open")
    confirm = row.locator("[data-confirm]")
    expect(confirm).to_be_hidden()

    row.get_by_role("button", name="Submit batch").click()  # first click: only the in-page confirmation
    expect(confirm).to_be_visible()
    expect(confirm).to_contain_text("2 of 3 images have no object.")
    expect(row.get_by_role("button", name="Yes, submit")).to_be_focused()
    screenshot(page, "submit-batch-confirm")
    row.screenshot(path=str(ARTIFACTS / "submit-batch-confirm-row.png"))  # the control itself, close up
    row.get_by_role("button", name="Cancel").click()
    expect(confirm).to_be_hidden()
    assert Batch.objects.get(pk=world.batch.pk).status == "open"

    row.get_by_role("button", name="Submit batch").click()
    row.get_by_role("button", name="Yes, submit").click()
    expect(page.locator(".submitted-note")).to_contain_text(f"“{world.batch.name}” is submitted for review (3 images)")
    expect(row.locator(".batch-status")).to_have_text("Submitted")
    expect(row.get_by_role("button", name="Submit batch")).to_have_count(0)
    assert Batch.objects.get(pk=world.batch.pk).status == "submitted"
    expect(page.locator(".grid figure a.annotate")).to_have_count(0)  # nothing to edit now: "View" instead
    expect(page.locator(".grid figure a.view")).to_have_count(3)
    screenshot(page, "submit-batch-done")

    # A workspace bookmarked before: the read-only view, with the reason.
    page.goto(f"{live_server.url}/images/{world.batched_image.pk}/annotate/")
    assert page.url == f"{live_server.url}/images/{world.batched_image.pk}/view/"
    expect(page.locator(".messages")).to_contain_text(
        "You cannot edit this image: The batch is submitted; it can be edited while it is open or rejected back to you."
    )
    wait_for_js(page, "document.body.dataset.ready === '1'")
    config = page.evaluate("JSON.parse(document.getElementById('review-config').textContent)")
    assert config["mode"] == "read-only" and config["batch"]["status"] == "submitted"
    expect(page.locator(".ws-toolbar")).to_contain_text("View (read-only)")
    expect(page.locator("#rv-objects li")).to_have_count(1)  # the objects are shown
    for control in ("#rv-accept", "#rv-reject", "#rv-accept-rest", "#rv-reject-rest", "#rv-finish", "#rv-send"):
        expect(page.locator(control)).to_have_count(0)  # but no decisions and no new comments
    screenshot(page, "read-only-view")

    # A page they may not open at all: styled, with the reason and the way back to the project.
    page.goto(f"{live_server.url}/images/{world.batched_image.pk}/review/")
    expect(page.locator(".error-page .reason")).to_have_text(
        "Only the batch's reviewer or a manager may review this image."
    )
    page.get_by_role("link", name=f"← Back to {world.project.name}").click()
    expect(page.get_by_role("heading", name=world.project.name)).to_be_visible()
    assert violations == []
