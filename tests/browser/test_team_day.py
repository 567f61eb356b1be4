"""A new team's first batch, entirely in the pages (no API call by the test): the manager sets the project up, the
annotator segments with clicks and submits, the reviewer rejects one image with a comment and finishes, the
annotator fixes it and resubmits, the reviewer accepts and finishes — and the manager sees the batch accepted.

Runs on the embedded default served by daphne (the workspace needs its websocket)."""

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.browser.conftest import screenshot, wait_for_js
from tests.live_stack import Stack, copy_photo, run_stack

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LLAMA_CLICK = (250, 200)  # on the llama of GrabCut's llama.bmp
FLOWER_CLICK = (300, 200)  # on the flower of GrabCut's flower.jpg


@pytest.fixture(scope="module")
def stack(tmp_path_factory, django_db_setup, django_db_blocker) -> Iterator[Stack]:
    yield from run_stack(tmp_path_factory, team=False, workers=0)


@pytest.fixture
def team(transactional_db) -> None:
    from django.contrib.auth import get_user_model

    users = get_user_model()
    for name in ("lead", "ann", "rev"):
        users.objects.create_user(name, password=f"pw-{name}")


def person(browser: Browser, stack: Stack, name: str) -> tuple[BrowserContext, Page]:
    """A browser of its own, logged in through the login page, on the project list."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.on("weberror", lambda error: print(f"[{name} page error] {error.error}"))
    page = context.new_page()
    page.goto(f"{stack.url}/accounts/login/")
    page.fill("#id_username", name)
    page.fill("#id_password", f"pw-{name}")
    page.click("button[type=submit]")
    expect(page.get_by_role("heading", name="Projects")).to_be_visible()
    return context, page


def open_project(page: Page, stack: Stack) -> None:
    """From the project list, as someone coming back to work."""
    page.goto(f"{stack.url}/")
    page.get_by_role("link", name="Llamas and flowers").click()
    expect(page.get_by_role("heading", name="Llamas and flowers")).to_be_visible()


def segment_and_finish(page: Page, x: int, y: int, over_an_object: bool = False) -> None:
    """One click on the object (Shift: over an object already made), the live mask, Space: a polygon object, saved."""
    wait_for_js(page, "document.body.dataset.ready === '1'")
    expect(page.locator("#ws-connection")).to_have_attribute("data-state", "connected", timeout=30_000)
    objects_before = page.evaluate("window.edgeflow.state().objects.length")
    point = page.evaluate(f"window.edgeflow.toScreen({x}, {y})")
    if over_an_object:
        page.keyboard.down("Shift")
    page.mouse.click(point["x"], point["y"])
    if over_an_object:
        page.keyboard.up("Shift")
    wait_for_js(page, "window.edgeflow.state().maskArea > 1000", timeout=60_000)
    page.keyboard.press("Space")
    wait_for_js(page, f"window.edgeflow.state().objects.length === {objects_before + 1}")
    wait_for_js(page, "window.edgeflow.state().save === 'saved'", timeout=30_000)


def submit_batch(page: Page) -> None:
    row = page.locator("#batches tr", has_text="First batch")
    row.get_by_role("button", name="Submit batch").click()
    row.get_by_role("button", name="Yes, submit").click()
    expect(page.locator(".submitted-note")).to_contain_text("“First batch” is submitted for review")


def review_first_image(page: Page, stack: Stack) -> None:
    open_project(page, stack)
    page.locator("#batches tr", has_text="First batch").get_by_role("link", name="Review").click()
    wait_for_js(page, "document.body !== null && document.body.dataset.ready === '1'")


def test_from_an_empty_project_to_an_accepted_batch_in_the_pages(stack: Stack, team, browser: Browser) -> None:
    from backend.annotations.models import AnnotationObject, Comment
    from backend.images.models import Batch, Image

    # The manager: project, label, members, images, one batch of both images.
    lead_context, lead = person(browser, stack, "lead")
    new = lead.locator("#new-project")
    new.locator("input[name=name]").fill("Llamas and flowers")
    new.get_by_role("button", name="Create").click()
    expect(lead.get_by_role("heading", name="Llamas and flowers")).to_be_visible()
    label = lead.locator("#new-label")
    label.locator("input[name=name]").fill("subject")
    label.get_by_role("button", name="Add label").click()
    expect(lead.locator("#labels .chip", has_text="subject")).to_be_visible()
    for name, role in (("ann", "annotator"), ("rev", "reviewer")):
        member = lead.locator("#new-member")
        member.locator("input[name=username]").fill(name)
        member.locator("select[name=role]").select_option(role)
        member.get_by_role("button", name="Add member").click()
        expect(lead.locator("#manage")).to_contain_text(f"{name} ({role})")
    upload = lead.locator("#upload")
    upload.locator("input[type=file]").set_input_files(
        [{"name": "llama.bmp", "mimeType": "image/bmp", "buffer": copy_photo("llama.bmp")},
         {"name": "flower.jpg", "mimeType": "image/jpeg", "buffer": copy_photo("flower.jpg")}]
    )  # fmt: skip
    upload.get_by_role("button", name="Upload").click()
    expect(lead.locator(".grid figure")).to_have_count(2)
    lead.wait_for_load_state()
    selection = lead.locator("#select-batch")
    selection.get_by_label("Select all shown").check()
    expect(selection.locator("[data-selected-count]")).to_have_text("2 selected")
    selection.locator("input[name=name]").fill("First batch")
    selection.locator("select[name=assignee_id]").select_option(label="ann (annotator)")
    selection.locator("select[name=reviewer_id]").select_option(label="rev (reviewer)")
    selection.get_by_role("button", name="Create a batch from the selected").click()
    expect(lead.locator("#batches tr", has_text="First batch")).to_contain_text("ann")
    batch = Batch.objects.get(name="First batch")
    llama = Image.objects.get(original_name="llama.bmp")
    flower = Image.objects.get(original_name="flower.jpg")

    # The annotator: one object per image with clicks, then "Submit batch".
    ann_context, ann = person(browser, stack, "ann")
    open_project(ann, stack)
    ann.locator(f'figure[data-image="{llama.pk}"] a.annotate').click()
    segment_and_finish(ann, *LLAMA_CLICK)
    ann.goto(f"{stack.url}/images/{flower.pk}/annotate/")
    segment_and_finish(ann, *FLOWER_CLICK)
    open_project(ann, stack)
    submit_batch(ann)
    assert Batch.objects.get(pk=batch.pk).status == "submitted"

    # The reviewer: rejects the llama with a comment, accepts the rest, finishes: back to the annotator.
    rev_context, rev = person(browser, stack, "rev")
    review_first_image(rev, stack)
    expect(rev.locator("#rv-objects li")).to_have_count(1)
    rev.keyboard.press("r")
    wait_for_js(rev, "document.activeElement && document.activeElement.id === 'rv-text'")
    rev.keyboard.type("Add the llama's shadow")
    rev.click("#rv-send")
    expect(rev.locator("#rv-comments li")).to_contain_text("Add the llama's shadow")
    rev.click("#rv-accept-rest")
    expect(rev.locator("#rv-counts")).to_have_text("1 accepted · 1 rejected · 0 undecided")
    rev.click("#rv-finish")
    expect(rev.locator("#rv-batch-status")).to_have_text("rejected")
    screenshot(rev, "team-day-1-rejected")
    assert Batch.objects.get(pk=batch.pk).status == "rejected"

    # The annotator: finds the comment, adds an object to the rejected image, resubmits.
    open_project(ann, stack)
    ann.locator(f'figure[data-image="{llama.pk}"] a.annotate').click()
    wait_for_js(ann, "document.body.dataset.ready === '1'")
    expect(ann.locator("#ws-rejected")).to_be_visible()
    expect(ann.locator("#ws-comments li")).to_contain_text("Add the llama's shadow")
    segment_and_finish(ann, 240, 150, over_an_object=True)  # the llama again, from its neck: a second object
    open_project(ann, stack)
    submit_batch(ann)
    assert dict(Image.objects.filter(batch=batch).values_list("original_name", "status")) == {
        "llama.bmp": "submitted",
        "flower.jpg": "accepted",  # decided before: stays accepted
    }

    # The reviewer accepts the fixed image and finishes: the batch is accepted.
    review_first_image(rev, stack)
    rev.keyboard.press("a")
    expect(rev.locator("#rv-counts")).to_have_text("2 accepted · 0 rejected · 0 undecided")
    rev.click("#rv-finish")
    expect(rev.locator("#rv-batch-status")).to_have_text("accepted")
    screenshot(rev, "team-day-2-accepted")

    lead.reload()
    expect(lead.locator("#batches tr", has_text="First batch")).to_contain_text("Accepted")
    screenshot(lead, "team-day-3-manager")
    assert Batch.objects.get(pk=batch.pk).status == "accepted"
    assert AnnotationObject.objects.filter(image__batch=batch, author__username="ann").count() == 3
    assert Comment.objects.filter(image=llama, author__username="rev").count() == 1
    for context in (lead_context, ann_context, rev_context):
        context.close()
