"""A reviewer opens a submitted image from the project page, pins a comment on an object and decides."""

import pytest
from playwright.sync_api import Page, expect

from backend.images.services import batch_submit
from tests.browser.conftest import screenshot
from tests.conftest import World

pytestmark = pytest.mark.browser


def test_reviewer_comments_on_an_object_rejects_the_image_and_accepts_the_batch(
    live_server, transactional_db, world: World, page: Page
) -> None:
    from backend.annotations.models import Comment
    from backend.images.models import Batch, Image

    batch_submit(batch=world.batch)
    image = world.batched_image
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", "reviewer")
    page.fill("#id_password", "pw-reviewer")
    page.click("button[type=submit]")
    page.goto(f"{live_server.url}/projects/{world.project.pk}/")
    page.locator(f'figure[data-image="{image.pk}"] a.review').click()
    page.wait_for_function("document.body.dataset.ready === '1'")
    expect(page.locator("#rv-status")).to_have_text("submitted")
    expect(page.locator("#rv-objects li")).to_have_count(1)
    expect(page.locator("#rv-objects li")).to_contain_text("car")

    point = page.evaluate("window.edgeflow.toScreen(25, 20)")  # inside the world's square object
    page.mouse.click(point["x"], point["y"])
    page.wait_for_function("window.edgeflow.state().pin !== null")
    page.fill("#rv-text", "The left edge misses the bumper")
    page.click("#rv-send")
    expect(page.locator("#rv-comments li")).to_have_count(1)
    comment = Comment.objects.get(image=image)
    assert comment.object_id == world.obj.pk and (comment.x, comment.y) == (25, 20)
    assert comment.author == world.users["reviewer"]

    page.keyboard.press("r")  # reject this image
    expect(page.locator("#rv-status")).to_have_text("rejected")
    assert Image.objects.get(pk=image.pk).status == "rejected"
    screenshot(page, "review-1-commented-and-rejected")
    expect(page.locator("#rv-accept")).to_be_disabled()  # decided: only the batch decision is left
    page.keyboard.press("a")
    expect(page.locator("#rv-message")).to_contain_text("already rejected")
    assert Image.objects.get(pk=image.pk).status == "rejected"

    page.click("#rv-accept-batch")
    expect(page.locator("#rv-status")).to_have_text("accepted")
    assert Batch.objects.get(pk=world.batch.pk).status == "accepted"
    assert Image.objects.get(pk=image.pk).status == "accepted"
    expect(page.locator("#rv-accept-batch")).to_be_disabled()
