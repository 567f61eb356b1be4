"""A reviewer opens a submitted image from the project page, pins a comment on an object and rejects it; the
annotator finds the comment in the workspace."""

import pytest
from playwright.sync_api import Browser, Page, expect

from backend.images.services import batch_submit
from tests.browser.conftest import log_in, screenshot, wait_for_js
from tests.conftest import World

pytestmark = pytest.mark.browser


def test_reviewer_comments_on_an_object_rejects_the_image_and_accepts_the_batch(
    live_server, transactional_db, world: World, page: Page, browser: Browser
) -> None:
    from backend.annotations.models import Comment
    from backend.images.models import Batch, Image

    batch_submit(batch=world.batch)
    image = world.batched_image
    log_in(page, live_server.url, "reviewer", "pw-reviewer")
    page.goto(f"{live_server.url}/projects/{world.project.pk}/")
    page.locator(f'figure[data-image="{image.pk}"] a.review').click()
    wait_for_js(page, "document.body.dataset.ready === '1'")
    expect(page.locator("#rv-status")).to_have_text("submitted")
    expect(page.locator("#rv-objects li")).to_have_count(1)
    expect(page.locator("#rv-objects li")).to_contain_text("car")

    point = page.evaluate("window.edgeflow.toScreen(25, 20)")  # inside the world's square object
    page.mouse.click(point["x"], point["y"])
    wait_for_js(page, "window.edgeflow.state().pin !== null")
    page.fill("#rv-text", "The left edge misses the bumper")
    page.click("#rv-send")
    expect(page.locator("#rv-comments li")).to_have_count(1)
    comment = Comment.objects.get(image=image)
    assert comment.object_id == world.obj.pk and (comment.x, comment.y) == (25, 20)
    assert comment.author == world.users["reviewer"]

    page.keyboard.press("r")  # reject this image, the batch's only one: the batch goes back to its annotator
    expect(page.locator("#rv-status")).to_have_text("rejected")
    expect(page.locator("#rv-batch-status")).to_have_text("rejected")
    assert Image.objects.get(pk=image.pk).status == "rejected"
    assert Batch.objects.get(pk=world.batch.pk).status == "rejected"
    expect(page.locator("#rv-accept")).to_be_disabled()
    expect(page.locator("#rv-accept-batch")).to_be_disabled()
    page.keyboard.press("a")
    expect(page.locator("#rv-message")).to_contain_text("already rejected")
    screenshot(page, "review-1-commented-and-rejected")

    # The annotator finds the reviewer's comment in the workspace; it selects the object it is about.
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    annotator = context.new_page()
    log_in(annotator, live_server.url, "annotator", "pw-annotator", next_url=f"/images/{image.pk}/annotate/")
    wait_for_js(annotator, "document.body.dataset.ready === '1'")
    expect(annotator.locator("#ws-comments li")).to_have_text("reviewer on object 1: The left edge misses the bumper")
    expect(annotator.locator("#ws-rejected")).to_be_visible()
    assert annotator.evaluate("window.edgeflow.canvas.stage.find('.pin').length") == 1  # pinned where it was made
    annotator.locator("#ws-comments button", has_text="object 1").click()
    wait_for_js(annotator, "window.edgeflow.state().selected !== null")
    screenshot(annotator, "review-2-comment-in-the-workspace")
    context.close()
