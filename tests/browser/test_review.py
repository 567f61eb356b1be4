"""The reviewer's day on the review page: decisions per image that can be changed until the review is finished,
"Accept the rest" / "Reject the rest" for the images still undecided, "Finish review" closing the batch, a
rejection prompting for a comment; the annotator finds the comment in the workspace. The read-only view shows
the same page without any decision or comment control."""

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from backend.images.models import Batch, Image
from backend.images.services import batch_submit
from tests.browser.conftest import log_in, screenshot, wait_for_js
from tests.conftest import World

pytestmark = pytest.mark.browser


def wait_ready(page: Page, path: str) -> None:
    """The page at ``path`` has mounted (``document.body`` is null for a moment while a navigation commits)."""
    page.wait_for_url(f"**{path}")
    wait_for_js(page, "document.body !== null && document.body.dataset.ready === '1'")


def open_review(page: Page, base_url: str, image_id: int) -> None:
    log_in(page, base_url, "reviewer", "pw-reviewer", next_url=f"/images/{image_id}/review/")
    wait_ready(page, f"/images/{image_id}/review/")


def statuses(world: World) -> dict[int, str]:
    return dict(Image.objects.filter(batch=world.batch).values_list("pk", "status"))


def batch_status(world: World) -> str:
    return Batch.objects.get(pk=world.batch.pk).status


def test_reviewer_rejects_with_a_comment_on_an_object_finishes_and_the_annotator_finds_it(
    live_server, transactional_db, world: World, page: Page, browser: Browser
) -> None:
    from backend.annotations.models import Comment

    batch_submit(batch=world.batch)
    image = world.batched_image
    log_in(page, live_server.url, "reviewer", "pw-reviewer")
    page.goto(f"{live_server.url}/projects/{world.project.pk}/")
    page.locator(f'figure[data-image="{image.pk}"] a.review').click()
    wait_ready(page, f"/images/{image.pk}/review/")
    expect(page.locator("#rv-status")).to_have_text("submitted")
    expect(page.locator("#rv-objects li")).to_have_count(1)
    expect(page.locator("#rv-objects li")).to_contain_text("car")
    expect(page.locator("#rv-objects li .chip")).to_have_text("#1")  # the object's number, as in the workspace
    expect(page.locator("#rv-finish")).to_be_disabled()

    page.keyboard.press("r")  # reject: the comment box opens focused, asking why (a comment stays optional)
    expect(page.locator("#rv-status")).to_have_text("rejected")
    wait_for_js(page, "document.activeElement && document.activeElement.id === 'rv-text'")
    expect(page.locator("#rv-text")).to_have_attribute("placeholder", re.compile(r"^Why is the image rejected\?"))
    assert Image.objects.get(pk=image.pk).status == "rejected"
    assert batch_status(world) == "submitted"  # deciding the last image no longer closes the batch

    point = page.evaluate("window.edgeflow.toScreen(25, 20)")  # inside the world's square object
    page.mouse.click(point["x"], point["y"])
    wait_for_js(page, "window.edgeflow.state().pin !== null")
    page.fill("#rv-text", "The left edge misses the bumper")
    page.click("#rv-send")
    expect(page.locator("#rv-comments li")).to_have_count(1)
    expect(page.locator("#rv-comments li")).to_contain_text("(object #1): The left edge misses the bumper")
    comment = Comment.objects.get(image=image)
    assert comment.object_id == world.obj.pk and (comment.x, comment.y) == (25, 20)
    assert comment.author == world.users["reviewer"]

    expect(page.locator("#rv-outcome")).to_contain_text("back to its annotator")
    page.click("#rv-finish")
    expect(page.locator("#rv-batch-status")).to_have_text("rejected")
    expect(page.locator("#rv-message")).to_contain_text("back with its annotator")
    assert batch_status(world) == "rejected"
    for control in ("#rv-accept", "#rv-reject", "#rv-accept-rest", "#rv-finish"):
        expect(page.locator(control)).to_be_disabled()
    page.keyboard.press("a")
    expect(page.locator("#rv-message")).to_contain_text("The batch is rejected")
    assert Image.objects.get(pk=image.pk).status == "rejected"
    screenshot(page, "review-1-commented-and-rejected")

    # The annotator finds the reviewer's comment in the workspace; it selects the object it is about.
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    annotator = context.new_page()
    log_in(annotator, live_server.url, "annotator", "pw-annotator", next_url=f"/images/{image.pk}/annotate/")
    wait_ready(annotator, f"/images/{image.pk}/annotate/")
    comment_text = re.compile(r"^reviewer on object #?1: The left edge misses the bumper\s*$")
    expect(annotator.locator("#ws-comments li")).to_have_text(comment_text)
    expect(annotator.locator("#ws-rejected")).to_be_visible()
    assert annotator.evaluate("window.edgeflow.canvas.stage.find('.pin').length") == 1  # pinned where it was made
    annotator.locator("#ws-comments button", has_text=re.compile(r"object #?1")).click()
    wait_for_js(annotator, "window.edgeflow.state().selected !== null")
    screenshot(annotator, "review-2-comment-in-the-workspace")
    context.close()


def test_accept_the_rest_keeps_a_rejection_and_finish_sends_the_batch_back(
    live_server, transactional_db, world: World, page: Page
) -> None:
    Image.objects.filter(pk=world.free_image.pk).update(batch=world.batch)
    batch_submit(batch=world.batch)
    first, second = world.batched_image, world.free_image
    open_review(page, live_server.url, first.pk)
    expect(page.locator("#rv-counts")).to_have_text("0 accepted · 0 rejected · 2 undecided")
    expect(page.locator("#rv-outcome")).to_have_text("2 images still undecided.")

    page.keyboard.press("r")
    expect(page.locator("#rv-reject")).to_have_attribute("aria-pressed", "true")
    wait_for_js(page, "document.activeElement && document.activeElement.id === 'rv-text'")
    page.keyboard.type("Two cars are missing")  # straight into the focused box
    page.click("#rv-send")
    expect(page.locator("#rv-comments li")).to_contain_text("Two cars are missing")

    page.click("#rv-accept-rest")
    expect(page.locator("#rv-counts")).to_have_text("1 accepted · 1 rejected · 0 undecided")
    expect(page.locator("#rv-message")).to_have_text("Accepted the 1 image still undecided.")
    expect(page.locator("#rv-status")).to_have_text("rejected")  # the explicit rejection stays
    assert statuses(world) == {first.pk: "rejected", second.pk: "accepted"}
    expect(page.locator("#rv-accept-rest")).to_be_disabled()
    expect(page.locator("#rv-finish")).to_be_enabled()
    expect(page.locator("#rv-outcome")).to_have_text(
        "Finishing sends the batch back to its annotator (1 rejected image)."
    )
    screenshot(page, "review-3-decisions")

    page.click("#rv-finish")
    expect(page.locator("#rv-batch-status")).to_have_text("rejected")
    assert batch_status(world) == "rejected"
    assert statuses(world) == {first.pk: "rejected", second.pk: "accepted"}


def test_a_decision_is_changed_before_finishing(live_server, transactional_db, world: World, page: Page) -> None:
    batch_submit(batch=world.batch)
    image = world.batched_image
    open_review(page, live_server.url, image.pk)

    page.click("#rv-accept")
    expect(page.locator("#rv-accept")).to_have_text("Accepted ✓")
    expect(page.locator("#rv-accept")).to_have_attribute("aria-pressed", "true")
    expect(page.locator("#rv-reject")).to_be_enabled()  # the decision can still be changed
    expect(page.locator("#rv-outcome")).to_have_text("Finishing accepts the batch.")

    page.click("#rv-reject")
    expect(page.locator("#rv-reject")).to_have_text("Rejected ✓")
    expect(page.locator("#rv-accept")).to_have_attribute("aria-pressed", "false")
    assert Image.objects.get(pk=image.pk).status == "rejected"
    expect(page.locator("#rv-outcome")).to_contain_text("back to its annotator")

    page.click("#rv-accept")  # changed back before finishing
    expect(page.locator("#rv-accept")).to_have_text("Accepted ✓")
    assert Image.objects.get(pk=image.pk).status == "accepted"
    page.click("#rv-finish")
    expect(page.locator("#rv-batch-status")).to_have_text("accepted")
    expect(page.locator("#rv-message")).to_have_text("Review finished: the batch is accepted.")
    expect(page.locator("#rv-reject")).to_be_disabled()
    assert batch_status(world) == "accepted"


def test_read_only_view_shows_objects_and_comments_without_controls(
    live_server, transactional_db, world: World, page: Page
) -> None:
    from backend.annotations.services import comment_create

    batch_submit(batch=world.batch)
    image = world.batched_image
    comment_create(image=image, author=world.users["reviewer"], text="Check the roof", object_id=world.obj.pk)
    log_in(page, live_server.url, "annotator", "pw-annotator", next_url=f"/images/{image.pk}/view/")
    wait_ready(page, f"/images/{image.pk}/view/")
    assert page.evaluate("window.edgeflow.state().mode") == "read-only"
    expect(page.locator("#rv-objects li .chip")).to_have_text("#1")
    expect(page.locator("#rv-comments li")).to_contain_text("(object #1): Check the roof")
    for control in (
        "#rv-accept",
        "#rv-reject",
        "#rv-accept-rest",
        "#rv-reject-rest",
        "#rv-finish",
        "#rv-text",
        "#rv-send",
    ):
        expect(page.locator(control)).to_have_count(0)
    point = page.evaluate("window.edgeflow.toScreen(25, 20)")
    page.mouse.click(point["x"], point["y"])
    page.keyboard.press("a")
    assert page.evaluate("window.edgeflow.state().pin") is None
    assert Image.objects.get(pk=image.pk).status == "submitted"
    screenshot(page, "review-4-read-only")
