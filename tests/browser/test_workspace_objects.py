"""The annotator's objects in the workspace, in real Chromium against a live daphne (embedded inference).

The mask options of the object being segmented (threshold live while dragging, remembered per user; polygon
simplification) and fewer vertex handles until zoomed in; a finished object re-opened with E gets more clicks and
is saved as the same object; F / S with an object under way saves it and moves on without the browser's dialog;
the object list shows the server's numbers and authors and highlights the hovered object; the batch is submitted
from the workspace. Screenshots: test-artifacts/workspace-object-list.png, workspace-submit-batch.png.
"""

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, Route, expect

from backend.annotations.models import AnnotationObject
from tests.browser.conftest import screenshot, wait_for_js
from tests.browser.test_workspace import (
    LLAMA_FIRST_CLICK,
    TRIANGLE,
    click_image,
    new_page,
    open_workspace,
    photo,
    saved_object,
    select_first_object,
    state,
    triangle,
    wait_mask,
    wait_saved,
)
from tests.live_stack import Stack, run_stack
from tests.waiting import wait_until

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

__all__ = ["photo", "triangle"]  # the fixtures, used here with this module's stack

FIRST = {"x": LLAMA_FIRST_CLICK[0], "y": LLAMA_FIRST_CLICK[1], "positive": True}
NEGATIVE = {"x": 40, "y": 40, "positive": False}


@pytest.fixture(scope="module")
def stack(tmp_path_factory, django_db_setup, django_db_blocker) -> Iterator[Stack]:
    from backend.web.templatetags.vite import MANIFEST

    assert MANIFEST.exists(), "The browser client is not built: run `make frontend` (make test does)."
    yield from run_stack(tmp_path_factory, team=False, workers=0)


def same_clicks(clicks: list[dict], expected: list[dict]) -> bool:
    """The clicks stored, each within a pixel of where the test clicked (the pixel under the mouse)."""
    return len(clicks) == len(expected) and all(
        abs(c["x"] - e["x"]) <= 1 and abs(c["y"] - e["y"]) <= 1 and c["positive"] == e["positive"]
        for c, e in zip(clicks, expected, strict=True)
    )


def handles(page: Page) -> int:
    return page.evaluate("window.edgeflow.canvas.objects.handlesGroup.getChildren().length")


def mask_vertices(page: Page) -> int:
    return page.evaluate("window.edgeflow.clicking.mask.polygons.reduce((n, p) => n + p.outer.length, 0)")


def test_mask_options_live_remembered_and_fewer_handles(stack, world, photo, browser: Browser) -> None:
    from backend.accounts.services import preferences_of

    context, page = new_page(browser)
    open_workspace(page, stack, photo.pk, login=True)
    expect(page.locator("#ws-mask-options")).to_contain_text("Object being segmented")
    expect(page.locator("#ws-threshold-value")).to_have_text("0.50")
    click_image(page, *LLAMA_FIRST_CLICK)
    wait_mask(page, clicks=1)
    area_default = state(page)["maskArea"]

    # Dragged with the mouse: the mask follows while the button is still down (options, no forward pass) …
    box = page.locator("#ws-threshold").bounding_box()
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + box["width"] / 2, y)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.7, y, steps=8)
    value = int(page.locator("#ws-threshold").input_value())
    assert 60 <= value <= 90
    expect(page.locator("#ws-threshold-value")).to_have_text(f"{value / 100:.2f}")
    wait_for_js(page, f"window.edgeflow.state().awaiting === null && window.edgeflow.state().maskArea < {area_default}")
    assert page.evaluate("window.edgeflow.clicking.mask.steps") == 0
    assert page.evaluate("window.edgeflow.state().options.threshold") == value / 100
    area_dragged = state(page)["maskArea"]
    # … and released, it is remembered for this user.
    page.mouse.up()
    annotator = world.users["annotator"]
    wait_until(
        lambda: preferences_of(user=annotator).get("maskThreshold") == value / 100, timeout=10, what="the preference"
    )

    page.reload()
    wait_for_js(page, "document.body.dataset.ready === '1' && window.edgeflow.state().connected")
    expect(page.locator("#ws-threshold")).to_have_value(str(value))
    expect(page.locator("#ws-threshold-value")).to_have_text(f"{value / 100:.2f}")
    click_image(page, *LLAMA_FIRST_CLICK)
    wait_mask(page, clicks=1)
    assert state(page)["maskArea"] == area_dragged, "the new object is segmented with the remembered threshold"

    # Simplification: a larger tolerance, fewer vertices.
    vertices = mask_vertices(page)
    page.eval_on_selector("#ws-tolerance", "(el) => { el.value = '60'; el.dispatchEvent(new Event('input')); }")
    expect(page.locator("#ws-tolerance-value")).to_have_text("6.0 px")
    wait_for_js(page, f"window.edgeflow.state().awaiting === null && {vertices} > 0")
    wait_until(lambda: mask_vertices(page) < vertices / 2, timeout=30, what="a simpler polygon")
    page.eval_on_selector("#ws-tolerance", "(el) => { el.value = '10'; el.dispatchEvent(new Event('input')); }")
    wait_until(lambda: mask_vertices(page) == vertices, timeout=30, what="the polygon at 1 px again")

    # Finished and selected: handles only where they do not crowd each other, all of them once zoomed in.
    page.keyboard.press("Space")
    wait_saved(page)
    wait_for_js(page, "window.edgeflow.state().selected !== null")
    total = sum(len(p["outer"]) + sum(len(h) for h in p["holes"]) for p in saved_object(photo.pk).polygons)
    at_fit = handles(page)
    assert 3 <= at_fit < total
    for _ in range(12):
        page.keyboard.press("=")
    assert at_fit < handles(page) <= total
    context.close()


def test_a_finished_object_reopened_with_e_takes_more_clicks(stack, world, photo, triangle, browser) -> None:
    context, page = new_page(browser)
    open_workspace(page, stack, photo.pk, login=True)
    api = world.client("annotator")

    # A drawn object has no clicks: re-opened, it starts empty and the annotator is told the shape will be replaced.
    select_first_object(page)
    page.keyboard.press("e")
    expect(page.locator("#ws-latency")).to_contain_text("will replace its shape")
    assert state(page)["reopened"] is not None and state(page)["clicks"] == 0
    click_image(page, *LLAMA_FIRST_CLICK)
    wait_mask(page, clicks=1)
    page.keyboard.press("Space")
    wait_saved(page)
    triangle.refresh_from_db()
    assert AnnotationObject.objects.filter(image=photo).count() == 1
    assert triangle.version == 2 and same_clicks(triangle.clicks, [FIRST]) and triangle.polygons != TRIANGLE

    # With its clicks: they start the session (mask recomputed), one more click, the same object PATCHed.
    page.locator("#ws-objects li.ws-object button.add-clicks").click()
    wait_for_js(page, "window.edgeflow.state().reopened !== null")
    wait_mask(page, clicks=1)
    reopened_area = state(page)["maskArea"]
    assert reopened_area > 10_000
    click_image(page, NEGATIVE["x"], NEGATIVE["y"], "right")
    wait_mask(page, clicks=2)
    page.keyboard.press("Space")
    wait_saved(page)
    shown = api.get(f"/api/objects/{triangle.pk}/").json()
    assert shown["id"] == triangle.pk and shown["version"] == 3
    assert same_clicks(shown["clicks"], [FIRST, NEGATIVE]) and shown["clicks_used"] == 2
    assert AnnotationObject.objects.filter(image=photo).count() == 1
    assert state(page)["reopened"] is None

    # One undo entry: the shape and the clicks before it.
    page.keyboard.press("Control+z")
    wait_saved(page)
    shown = api.get(f"/api/objects/{triangle.pk}/").json()
    assert shown["version"] == 4 and same_clicks(shown["clicks"], [FIRST])
    context.close()


def test_next_image_with_an_object_under_way_saves_it_and_moves_on(stack, world, photo, browser: Browser) -> None:
    context, page = new_page(browser)
    open_workspace(page, stack, photo.pk, login=True)
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.type), dialog.accept()))
    click_image(page, *LLAMA_FIRST_CLICK)  # its mask may still be computing: the key waits for it
    page.keyboard.press("s")  # the previous image of the batch
    page.wait_for_url(f"**/images/{world.batched_image.pk}/annotate/")
    wait_for_js(page, "document.body.dataset.ready === '1'")
    assert dialogs == [], "no 'Leave site?' dialog"
    obj = saved_object(photo.pk)
    assert obj.source == "interactive" and same_clicks(obj.clicks, [FIRST]) and obj.area > 10_000
    context.close()


def test_object_list_numbers_authors_and_hover(stack, world, photo, triangle, browser: Browser) -> None:
    context, page = new_page(browser)
    open_workspace(page, stack, photo.pk, login=True)
    entries = page.locator("#ws-objects li.ws-object")
    expect(entries).to_have_count(1)
    expect(entries.nth(0).locator(".ws-object-number")).to_have_text(f"#{triangle.number}")
    expect(entries.nth(0).locator(".ws-object-meta")).to_contain_text("0 clicks · annotator")

    # A new object is "new" until the server has numbered it (its create is held back here).
    held: list[Route] = []
    url = f"**/api/images/{photo.pk}/objects/"
    page.route(url, lambda route: held.append(route) if route.request.method == "POST" else route.continue_())
    click_image(page, *LLAMA_FIRST_CLICK, force=True)
    wait_mask(page, clicks=1)
    page.keyboard.press("Space")
    wait_until(lambda: page.evaluate("0") == 0 and held, timeout=30, what="the create, held back")
    expect(entries).to_have_count(2)
    expect(entries.nth(1).locator(".ws-object-number")).to_have_text("new")
    held[0].continue_()
    page.unroute(url)
    wait_saved(page)
    created = AnnotationObject.objects.exclude(pk=triangle.pk).get(image=photo)
    assert created.number == triangle.number + 1
    expect(entries.nth(1).locator(".ws-object-number")).to_have_text(f"#{created.number}")
    expect(entries.nth(1).locator(".ws-object-meta")).to_contain_text("1 click · annotator")
    expect(entries.nth(1).locator(".ws-object-meta")).to_contain_text("px²")

    # Hovering an entry highlights its object on the canvas.
    entries.nth(0).hover()
    wait_for_js(page, f"window.edgeflow.state().highlighted === 's{triangle.pk}'")
    screenshot(page, "workspace-object-list")
    page.mouse.move(5, 5)
    wait_for_js(page, "window.edgeflow.state().highlighted === null")
    context.close()


def test_submit_batch_from_the_workspace(stack, world, photo, browser: Browser) -> None:
    context, page = new_page(browser)
    open_workspace(page, stack, photo.pk, login=True)
    dialog = page.locator("#ws-submit-dialog")

    page.click("#ws-submit")  # the llama has no object yet: the warning says so
    expect(page.locator("#ws-submit-warning")).to_have_text("⚠ 1 of its 2 images has no object yet.")
    screenshot(page, "workspace-submit-batch")
    page.click("#ws-submit-cancel")
    expect(dialog).to_be_hidden()

    click_image(page, *LLAMA_FIRST_CLICK)  # an object under way is finished and saved before submitting
    page.click("#ws-submit")
    expect(page.locator("#ws-submit-warning")).to_have_text("Every image of the batch has at least one object.")
    assert same_clicks(saved_object(photo.pk).clicks, [FIRST])
    page.click("#ws-submit-confirm")
    page.wait_for_url(f"**/projects/{world.project.pk}/")
    world.batch.refresh_from_db()
    assert world.batch.status == "submitted"
    context.close()
