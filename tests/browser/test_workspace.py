"""The annotation workspace in real Chromium against a live daphne with the real model (embedded inference).

An annotator logs in, clicks on a GrabCut photo until the live mask matches the ground truth, finishes it into a
polygon, drags a vertex, undoes and redoes, reloads and finds the edit saved; a second browser saving the same
object gets the conflict dialog; edits made offline (and after the session cookie is gone) are saved afterwards.
Screenshots of each step go to test-artifacts/workspace-*.png; the click-to-paint times measured in the browser
go to test-artifacts/workspace-click-to-paint.json.
"""

import json
import os
import re
import shutil
import statistics
import time
from collections.abc import Iterator

import cv2
import numpy as np
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from backend.annotations.models import AnnotationObject
from ml.postprocess import rle_to_mask
from tests.browser.conftest import ARTIFACTS, screenshot, wait_for_js
from tests.conftest import World
from tests.live_stack import Stack, copy_photo, grabcut_mask, run_stack

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LLAMA_FIRST_CLICK = (250, 200)
TRIANGLE = [{"outer": [[100.0, 100.0], [300.0, 100.0], [200.0, 250.0]], "holes": []}]


@pytest.fixture(scope="module")
def stack(tmp_path_factory, django_db_setup, django_db_blocker) -> Iterator[Stack]:
    from backend.web.templatetags.vite import MANIFEST

    assert MANIFEST.exists(), "The browser client is not built: run `make frontend` (make test does)."
    yield from run_stack(tmp_path_factory, team=False, workers=0)


@pytest.fixture(autouse=True)
def server_log_on_failure(request, stack: Stack) -> Iterator[None]:
    """A failing test's output ends with what the server logged meanwhile."""
    starts = {process.log: process.log.stat().st_size for process in stack.processes}
    yield
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        for log, start in starts.items():
            print(f"--- {log.name} during the test ---")
            print(log.read_bytes()[start:].decode(errors="replace")[-6000:])


@pytest.fixture
def photo(transactional_db, settings, stack, world):
    """GrabCut's llama, uploaded by the test into the annotator's batch (stored where the live server reads)."""
    from backend.images.models import Image
    from backend.images.services import images_upload
    from tests.conftest import upload

    shutil.copytree(settings.MEDIA_ROOT, stack.media, dirs_exist_ok=True)  # the world's own images
    settings.MEDIA_ROOT = stack.media
    report = images_upload(
        project=world.project, files=[upload("llama.bmp", copy_photo("llama.bmp"))], uploaded_by=world.users["manager"]
    )
    image = report.created[0]
    Image.objects.filter(pk=image.pk).update(batch=world.batch)
    image.refresh_from_db()
    return image


@pytest.fixture
def triangle(photo, world: World) -> AnnotationObject:
    from backend.annotations.services import object_create

    return object_create(image=photo, author=world.users["annotator"], label_id=world.label.pk, polygons=TRIANGLE)


def iou(mask: np.ndarray, truth: np.ndarray, ignore: np.ndarray) -> float:
    keep = ~ignore
    return float((mask & truth & keep).sum() / max(1, ((mask | truth) & keep).sum()))


def next_click(mask: np.ndarray, truth: np.ndarray, ignore: np.ndarray) -> tuple[int, int, bool]:
    """The NoC protocol's next click: the interior-most pixel of the larger error region."""
    missed = truth & ~mask & ~ignore
    extra = mask & ~truth & ~ignore
    error = missed if missed.sum() >= extra.sum() else extra
    distance = cv2.distanceTransform(np.pad(error, 1).astype(np.uint8), cv2.DIST_L2, 5)[1:-1, 1:-1]
    y, x = np.unravel_index(int(distance.argmax()), distance.shape)
    return int(x), int(y), bool(error is missed)


def new_page(browser: Browser) -> tuple[BrowserContext, Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    # Shown with a failing test's output, for every page of the context (a reopened tab too).
    context.on("console", lambda message: print(f"[console {message.type}] {message.text}"))
    context.on("weberror", lambda error: print(f"[page error] {error.error}"))
    context.on("requestfailed", lambda r: print(f"[request failed] {r.method} {r.url} {r.failure}"))
    return context, context.new_page()


def log_in(page: Page, who: str = "annotator") -> None:
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    page.fill("#id_username", who)
    page.fill("#id_password", f"pw-{who}")
    page.click("button[type=submit]")


def open_workspace(page: Page, stack: Stack, image_id: int, login: bool = False) -> None:
    page.goto(f"{stack.url}/images/{image_id}/annotate/")
    if login:
        log_in(page)
    try:
        wait_for_js(page, "document.body.dataset.ready === '1'", timeout=30_000)
    except Exception:
        screenshot(page, "workspace-failed-to-open")
        raise
    expect(page.locator("#ws-connection")).to_have_attribute("data-state", "connected", timeout=30_000)


def state(page: Page) -> dict:
    return page.evaluate("window.edgeflow.state()")


def wait_saved(page: Page, timeout: float = 30_000) -> None:
    try:
        wait_for_js(page, "window.edgeflow.state().save === 'saved'", timeout=timeout)
    except Exception:
        # What the saver was doing, for the failing test's output.
        print(
            "[saver]",
            page.evaluate("""(() => {
            const w = window.edgeflow, s = w.state();
            return {save: s.save, unsaved: s.unsaved, error: w.saver.lastError,
                    objects: s.objects.map(o => ({serverId: o.serverId, version: o.version, dirty: o.dirty})),
                    conflicts: [...w.saver.conflicts.values()].map(c => c.current && {id: c.current.id,
                        version: c.current.version, updated_at: c.current.updated_at})};
        })()"""),
        )
        screenshot(page, "workspace-failed-to-save")
        raise


def click_image(page: Page, x: float, y: float, button: str = "left", force: bool = False) -> None:
    """A click on the image; `force` (Shift) makes it a click even over an existing object."""
    point = page.evaluate(f"window.edgeflow.toScreen({x}, {y})")
    if force:
        page.keyboard.down("Shift")
    page.mouse.click(point["x"], point["y"], button=button)
    if force:
        page.keyboard.up("Shift")


def drag_vertex(page: Page, vertex: list[float], dx: float, dy: float) -> None:
    start = page.evaluate(f"window.edgeflow.toScreen({vertex[0]}, {vertex[1]})")
    page.mouse.move(start["x"], start["y"])
    page.mouse.down()
    page.mouse.move(start["x"] + dx / 2, start["y"] + dy / 2, steps=4)
    page.mouse.move(start["x"] + dx, start["y"] + dy, steps=4)
    page.mouse.up()


def wait_mask(page: Page, clicks: int) -> None:
    wait_for_js(
        page, f"(() => {{ const s = window.edgeflow.state(); return s.awaiting === null && s.clicks === {clicks}; }})()"
    )


def select_first_object(page: Page) -> None:
    page.locator("#ws-objects li button.select").first.click()
    wait_for_js(page, "window.edgeflow.state().selected !== null")


def saved_object(image_id: int) -> AnnotationObject:
    return AnnotationObject.objects.get(image_id=image_id)


def test_click_mask_finish_edit_undo_redo_and_reload(stack, world, photo, browser: Browser) -> None:
    context, page = new_page(browser)
    open_workspace(page, stack, photo.pk, login=True)
    screenshot(page, "workspace-1-open")
    truth, ignore = grabcut_mask("llama")

    x, y, positive = *LLAMA_FIRST_CLICK, True
    scores = []
    for _ in range(3):
        click_image(page, x, y, "left" if positive else "right")
        wait_for_js(
            page,
            "(() => { const s = window.edgeflow.state(); return s.awaiting === null && s.maskArea > 0; })()",
            timeout=60_000,
        )
        rle = page.evaluate("window.edgeflow.clicking.mask.rle")
        mask = rle_to_mask(rle)
        scores.append(iou(mask, truth, ignore))
        if scores[-1] >= 0.8:
            break
        x, y, positive = next_click(mask, truth, ignore)
    assert scores[-1] >= 0.8, f"IoU per click: {scores}"
    first_session_ms = page.evaluate("window.edgeflow.metrics.clickToPaintMs")
    screenshot(page, "workspace-2-live-mask")

    page.keyboard.press("Space")  # finish: the newest mask's polygons become an object, created over REST
    wait_saved(page)
    obj = saved_object(photo.pk)
    assert obj.source == "interactive" and obj.clicks_used == len(scores) and obj.version == 1
    assert obj.client_key == state(page)["objects"][0]["localId"] and obj.seconds_spent > 0
    assert iou(rle_to_mask(obj.mask_rle), truth, ignore) >= 0.8, "the saved object (read back) matches the truth"
    expect(page.locator("#ws-objects li.ws-object")).to_have_count(1)
    screenshot(page, "workspace-3-finished-polygon")

    vertex = obj.polygons[0]["outer"][0]
    scale = page.evaluate("window.edgeflow.canvas.view.scale")
    drag_vertex(page, vertex, 30, 20)
    wait_saved(page)
    obj.refresh_from_db()
    moved = obj.polygons[0]["outer"][0]
    assert obj.version == 2
    assert moved[0] == pytest.approx(min(vertex[0] + 30 / scale, 512), abs=1.5)
    assert moved[1] == pytest.approx(min(vertex[1] + 20 / scale, 370), abs=1.5)
    screenshot(page, "workspace-4-vertex-dragged")

    page.keyboard.press("Control+z")
    wait_saved(page)
    obj.refresh_from_db()
    assert obj.version == 3 and obj.polygons[0]["outer"][0] == vertex
    page.keyboard.press("Control+y")
    wait_saved(page)
    obj.refresh_from_db()
    assert obj.version == 4 and obj.polygons[0]["outer"][0] == moved
    screenshot(page, "workspace-5-undo-redo")

    page.reload()
    wait_for_js(page, "document.body.dataset.ready === '1'")
    shown = state(page)["objects"]
    assert len(shown) == 1 and shown[0]["polygons"][0]["outer"][0] == moved and not shown[0]["dirty"]
    screenshot(page, "workspace-6-reloaded")

    # The click-to-paint time measured in the browser (pointerdown → the mask's frame), recorded as an artifact.
    open_workspace(page, stack, photo.pk)
    for _ in range(5):
        click_image(page, *LLAMA_FIRST_CLICK, force=True)
        wait_for_js(
            page,
            "(() => { const s = window.edgeflow.state(); return s.awaiting === null && s.maskArea > 0; })()",
            timeout=60_000,
        )
        page.keyboard.press("Escape")
    metrics = page.evaluate("window.edgeflow.metrics")
    timings = metrics["clickToPaintMs"]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    report = {
        "what": "browser click-to-paint: pointerdown → the animation frame showing the new mask (ms)",
        "first_object": {"clicks": len(scores), "iou_per_click": [round(v, 3) for v in scores], "ms": first_session_ms},
        "warm_ms": timings,
        "warm_median_ms": statistics.median(timings),
        "server_total_ms": metrics["serverMs"],
        "browser_and_transport_ms": [round(a - b, 1) for a, b in zip(timings, metrics["serverMs"], strict=True)],
        "load_average_1min": os.getloadavg()[0],
    }
    (ARTIFACTS / "workspace-click-to-paint.json").write_text(json.dumps(report, indent=2))
    print(f"click-to-paint (warm, median of {len(timings)}): {report['warm_median_ms']:.0f} ms")
    assert len(timings) == 5 and all(t > 0 for t in timings)
    context.close()


def test_a_second_browser_saving_the_same_object_gets_the_conflict_dialog(stack, world, photo, triangle, browser):
    """A lease keeps two connections off one object while both are connected; the version is what still guards
    an edit made where the lease could not be asked for (offline) while someone else saved the object."""
    ctx_a, first = new_page(browser)
    ctx_b, second = new_page(browser)
    for page in (first, second):
        open_workspace(page, stack, photo.pk, login=True)
    ctx_a.set_offline(True)  # the first browser misses what follows
    select_first_object(second)
    drag_vertex(second, [300, 100], -20, 20)
    wait_saved(second)
    second.keyboard.press("Escape")  # deselected: its lease is released
    triangle.refresh_from_db()
    theirs = triangle.polygons
    assert triangle.version == 2 and theirs[0]["outer"][1] != [300.0, 100.0]
    wait_for_js(second, "window.edgeflow.state().team.leases.length === 0")

    select_first_object(first)  # offline: selected without a lease
    drag_vertex(first, [200, 250], 0, -30)  # based on version 1: once back online the server answers 409
    expect(first.locator("#ws-save")).to_have_attribute("data-state", "offline", timeout=15_000)
    ctx_a.set_offline(False)
    dialog = first.locator("#ws-conflict")
    expect(dialog).to_be_visible(timeout=15_000)
    expect(dialog).to_contain_text("changed by someone else")
    expect(dialog).to_contain_text("Version 2")
    screenshot(first, "workspace-7-conflict-dialog")
    triangle.refresh_from_db()
    assert triangle.version == 2 and triangle.polygons == theirs, "nothing was overwritten silently"

    first.click("#ws-keep-mine")
    wait_saved(first)
    triangle.refresh_from_db()
    assert triangle.version == 3
    assert triangle.polygons[0]["outer"][1] == [300.0, 100.0] and triangle.polygons[0]["outer"][2][1] < 250
    ctx_a.close()
    ctx_b.close()


def test_offline_edits_survive_a_closed_tab_and_are_saved_when_back(stack, world, photo, triangle, browser):
    context, page = new_page(browser)
    open_workspace(page, stack, photo.pk, login=True)
    select_first_object(page)
    context.set_offline(True)
    drag_vertex(page, [100, 100], 25, 25)
    expect(page.locator("#ws-save")).to_have_attribute("data-state", "offline", timeout=15_000)
    screenshot(page, "workspace-8-offline-edit")
    with page.expect_event("dialog") as warning:
        page.close(run_before_unload=True)  # leaving with unsaved changes warns…
    assert warning.value.type == "beforeunload"
    with page.expect_event("close"):
        warning.value.accept()  # …and the annotator leaves anyway
    triangle.refresh_from_db()
    assert triangle.version == 1

    context.set_offline(False)
    page = context.new_page()  # the tab reopened: the journal in IndexedDB is replayed
    open_workspace(page, stack, photo.pk)
    wait_saved(page)
    triangle.refresh_from_db()
    assert triangle.version == 2 and triangle.polygons[0]["outer"][0][0] > 100
    screenshot(page, "workspace-9-replayed-after-reopening")
    context.close()


def test_a_save_whose_answer_was_lost_is_saved_once_not_a_conflict(stack, world, photo, triangle, browser):
    context, page = new_page(browser)
    open_workspace(page, stack, photo.pk, login=True)
    select_first_object(page)
    lost = []

    def answer_lost(route):
        if lost:
            return route.continue_()
        route.fetch()  # the server applies the change…
        lost.append(route.request.method)
        route.abort("connectionreset")  # …but the browser never hears back

    page.route(f"**/api/objects/{triangle.pk}/", answer_lost)
    drag_vertex(page, [100, 100], 25, 25)
    wait_saved(page)
    assert lost == ["PATCH"]
    triangle.refresh_from_db()
    assert triangle.version == 2 and triangle.polygons[0]["outer"][0][0] > 100  # saved once, by the lost request
    assert state(page)["objects"][0]["version"] == 2
    expect(page.locator("#ws-conflict")).to_be_hidden()
    context.close()


def test_edits_after_the_session_expired_are_saved_after_logging_in_again(stack, world, photo, triangle, browser):
    context, page = new_page(browser)
    open_workspace(page, stack, photo.pk, login=True)
    select_first_object(page)
    context.clear_cookies(name="sessionid")
    drag_vertex(page, [300, 100], -25, 25)
    expect(page.locator("#ws-save")).to_have_attribute("data-state", "auth", timeout=15_000)
    screenshot(page, "workspace-10-session-expired")
    triangle.refresh_from_db()
    assert triangle.version == 1

    page.click("#ws-login")
    log_in(page)  # back to the workspace, which replays the journal
    wait_for_js(page, "document.body.dataset.ready === '1'")
    wait_saved(page)
    triangle.refresh_from_db()
    assert triangle.version == 2 and triangle.polygons[0]["outer"][1][0] < 300
    screenshot(page, "workspace-11-saved-after-login")
    context.close()


def test_logging_out_elsewhere_stops_the_socket_and_offers_to_log_in_again(stack, world, photo, browser):
    from django.contrib.sessions.models import Session

    context, page = new_page(browser)
    open_workspace(page, stack, photo.pk, login=True)
    Session.objects.all().delete()  # logged out in another tab (or the session expired on the server)
    click_image(page, *LLAMA_FIRST_CLICK)
    expect(page.locator("#ws-connection")).to_have_attribute("data-state", "logged-out", timeout=15_000)
    screenshot(page, "workspace-15-logged-out")
    page.click("#ws-relogin")
    log_in(page)
    wait_for_js(page, "document.body.dataset.ready === '1'")
    expect(page.locator("#ws-connection")).to_have_attribute("data-state", "connected", timeout=30_000)
    click_image(page, *LLAMA_FIRST_CLICK)
    wait_for_js(page, "window.edgeflow.state().maskArea > 10000")
    context.close()


def test_a_lost_websocket_reconnects_and_resumes_the_object(stack, world, photo, browser):
    context, page = new_page(browser)
    open_workspace(page, stack, photo.pk, login=True)
    click_image(page, *LLAMA_FIRST_CLICK)
    wait_for_js(page, "window.edgeflow.state().maskArea > 0 && window.edgeflow.state().awaiting === null")
    page.evaluate("window.edgeflow.dropConnection()")
    wait_for_js(page, "window.edgeflow.state().connections === 2", timeout=20_000)
    assert page.evaluate("window.edgeflow.state().longestRetryWaitMs") <= 2000, "no long backoff before reconnecting"
    expect(page.locator("#ws-connection")).to_have_attribute("data-state", "connected")
    wait_for_js(page, "window.edgeflow.state().maskArea > 0 && window.edgeflow.state().awaiting === null")
    assert state(page)["clicks"] == 1

    # The mask options start as the server's defaults (ready.options); undo and redo over clicks; a click's marker
    # can be removed; the threshold re-post-processes the mask.
    expect(page.locator("#ws-threshold")).to_have_value("50")
    expect(page.locator("#ws-largest")).to_be_checked()
    one_click_area = state(page)["maskArea"]
    click_image(page, 40, 40, "right")
    wait_mask(page, clicks=2)
    page.keyboard.press("Control+z")
    wait_mask(page, clicks=1)
    assert state(page)["maskArea"] == one_click_area
    page.keyboard.press("Control+y")
    wait_mask(page, clicks=2)
    marker = page.evaluate("window.edgeflow.toScreen(40, 40)")
    page.mouse.click(marker["x"], marker["y"])  # on the negative marker: removes it
    wait_mask(page, clicks=1)
    set_slider(page, "#ws-threshold", 95, "change")
    wait_for_js(page, f"window.edgeflow.state().maskArea < {one_click_area}")
    screenshot(page, "workspace-14-clicks-and-threshold")
    page.keyboard.press("Space")
    wait_saved(page)
    obj = saved_object(photo.pk)
    assert obj.clicks_used == 2 and obj.area > 10000  # distinct clicks placed: the removed one counts too
    context.close()


def set_slider(page: Page, selector: str, value: int, event: str = "input") -> None:
    page.eval_on_selector(
        selector, f"(el) => {{ el.value = '{value}'; el.dispatchEvent(new Event('{event}', {{bubbles: true}})); }}"
    )


def test_polygon_tools_labels_view_and_rebindable_shortcuts(stack, world, photo, triangle, browser):
    from backend.accounts.services import preferences_of

    context, page = new_page(browser)
    open_workspace(page, stack, photo.pk, login=True)
    select_first_object(page)

    # Double-click an edge: a new vertex there.
    midpoint = page.evaluate("window.edgeflow.toScreen(200, 100)")
    page.mouse.dblclick(midpoint["x"], midpoint["y"])
    wait_for_js(page, "window.edgeflow.state().objects[0].polygons[0].outer.length === 4")
    wait_saved(page)
    triangle.refresh_from_db()
    outer = triangle.polygons[0]["outer"]
    assert len(outer) == 4 and outer[1][1] == 100.0 and outer[1][0] == pytest.approx(200, abs=1)

    # Select that vertex, Delete removes it.
    page.mouse.click(midpoint["x"], midpoint["y"])
    page.keyboard.press("Delete")
    wait_saved(page)
    triangle.refresh_from_db()
    assert triangle.polygons == TRIANGLE

    # Drag the whole polygon.
    scale = page.evaluate("window.edgeflow.canvas.view.scale")
    drag_vertex(page, [200, 150], 40, 20)
    wait_saved(page)
    triangle.refresh_from_db()
    dx, dy = (a - b for a, b in zip(triangle.polygons[0]["outer"][0], TRIANGLE[0]["outer"][0], strict=True))
    assert dx == pytest.approx(40 / scale, abs=1) and dy == pytest.approx(20 / scale, abs=1)
    shifted_back = [[x - dx, y - dy] for x, y in triangle.polygons[0]["outer"]]
    assert np.allclose(shifted_back, TRIANGLE[0]["outer"])
    screenshot(page, "workspace-12-polygon-tools")

    # Labels: number keys pick the label for new objects; the object list changes an object's label.
    page.keyboard.press("2")
    expect(page.locator(f'.ws-label[data-label="{world.spare_label.pk}"]')).to_have_class(re.compile("current"))
    page.select_option("#ws-objects select", str(world.spare_label.pk))
    wait_saved(page)
    triangle.refresh_from_db()
    assert triangle.label_id == world.spare_label.pk

    # Delete from the object list; undo brings the same object back (its id and history restored on the server).
    page.locator("#ws-objects li button.delete").click()
    wait_saved(page)
    assert not AnnotationObject.objects.filter(image_id=photo.pk).exists()
    page.keyboard.press("Control+z")
    wait_saved(page)
    restored = saved_object(photo.pk)
    assert restored.pk == triangle.pk and restored.version == triangle.version + 2
    assert restored.label_id == world.spare_label.pk and restored.polygons == triangle.polygons

    # Zoom around the cursor keeps the point under it; fit restores the whole image.
    page.mouse.move(500, 400)
    before = page.evaluate("window.edgeflow.canvas.view")
    page.mouse.wheel(0, -400)
    wait_for_js(page, f"window.edgeflow.canvas.view.scale > {before['scale'] * 1.2}")
    after = page.evaluate("window.edgeflow.canvas.view")
    rect = page.locator("#ws-stage").bounding_box()
    px, py = 500 - rect["x"], 400 - rect["y"]
    assert (px - after["x"]) / after["scale"] == pytest.approx((px - before["x"]) / before["scale"], abs=0.5)
    assert (py - after["y"]) / after["scale"] == pytest.approx((py - before["y"]) / before["scale"], abs=0.5)
    page.keyboard.press("0")
    assert page.evaluate("window.edgeflow.canvas.view.scale") == pytest.approx(before["scale"])
    page.keyboard.down(" ")  # Space held + drag pans (and finishes nothing)
    page.mouse.move(600, 300)
    page.mouse.down()
    page.mouse.move(650, 330, steps=3)
    page.mouse.up()
    page.keyboard.up(" ")
    panned = page.evaluate("window.edgeflow.canvas.view")
    assert (panned["x"] - before["x"], panned["y"] - before["y"]) == pytest.approx((50, 30))
    assert state(page)["clicks"] == 0
    page.keyboard.press("0")
    set_slider(page, "#ws-brightness", 150)
    assert "brightness(150%)" in page.evaluate("document.querySelector('#ws-stage canvas').style.filter")

    # The help overlay lists the shortcuts; re-binding one is stored in the user's preferences.
    page.keyboard.press("?")
    help_dialog = page.locator("#ws-help")
    expect(help_dialog).to_be_visible()
    expect(help_dialog).to_contain_text("Next image")
    help_dialog.locator('tr[data-action="nextImage"] button.rebind').click()
    page.keyboard.press("d")
    expect(help_dialog.locator('tr[data-action="nextImage"] kbd')).to_have_text("d")
    screenshot(page, "workspace-13-help-and-shortcuts")
    deadline = time.time() + 10
    while preferences_of(user=world.users["annotator"]).get("shortcuts") != {"nextImage": "d"}:
        assert time.time() < deadline, preferences_of(user=world.users["annotator"])
        time.sleep(0.2)

    page.keyboard.press("Escape")
    page.keyboard.press("s")  # the previous image of the annotator's batch
    page.wait_for_url(f"**/images/{world.batched_image.pk}/annotate/")
    wait_for_js(page, "document.body.dataset.ready === '1'")
    context.close()
