"""The review page, live (frontend/src/review.ts over the image's socket), in two browser contexts against a live
daphne: a reviewer has a submitted batch's image open for review while a manager works on the same image in the
workspace. Each is in the other's presence badges (`#rv-viewers`, `#ws-viewers`); the manager's new object (made over
REST: drawing one needs inference), relabelled object, edited polygon (the reviewer sees the manager's lock while
they edit) and deleted object show in the reviewer's object list as they are saved — on the socket the page opened,
never reconnected, and without a reload. Screenshot: test-artifacts/review-live.png.
"""

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import screenshot, wait_for_js
from tests.browser.test_workspace import (
    drag_vertex,
    log_in,
    new_page,
    photo,
    server_log_on_failure,
    wait_saved,
)
from tests.conftest import World
from tests.http import call
from tests.live_stack import Stack, run_stack, token_for

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

__all__ = ["photo", "server_log_on_failure"]  # the fixtures, used here with this module's stack

ONE = [{"outer": [[100.0, 100.0], [300.0, 100.0], [200.0, 250.0]], "holes": []}]  # llama.bmp is 513 × 371
TWO = [{"outer": [[350.0, 250.0], [480.0, 250.0], [415.0, 350.0]], "holes": []}]
THREE = [{"outer": [[20.0, 300.0], [80.0, 300.0], [50.0, 360.0]], "holes": []}]


@pytest.fixture(scope="module")
def stack(tmp_path_factory, django_db_setup, django_db_blocker) -> Iterator[Stack]:
    from backend.web.templatetags.vite import MANIFEST

    assert MANIFEST.exists(), "The browser client is not built: run `make frontend` (make test does)."
    yield from run_stack(tmp_path_factory, team=False, workers=0)


def reviewed_row(page: Page, object_id: int):
    return page.locator(f"#rv-objects li[data-object='{object_id}']")


def workspace_row(page: Page, object_id: int):
    return page.locator(f"#ws-objects li.ws-object[data-object='{object_id}']")


def still_live(page: Page) -> None:
    """What the reviewer sees came over the socket opened with the page: no reload, no reconnection (whose catch-up
    from the REST API would show the changes too)."""
    assert page.evaluate("window.notReloaded") is True, "the review page was reloaded"
    live = page.evaluate("window.edgeflow.state().live")
    assert live["connected"] is True and live["connections"] == 1, live


def test_the_reviewer_sees_the_managers_changes_live(stack, world: World, photo, browser: Browser) -> None:
    from backend.annotations.models import AnnotationObject
    from backend.annotations.services import object_create
    from backend.images.services import batch_submit

    manager, reviewer = world.users["manager"], world.users["reviewer"]
    one = object_create(image=photo, author=world.users["annotator"], label_id=world.label.pk, polygons=ONE)
    two = object_create(image=photo, author=world.users["annotator"], label_id=world.label.pk, polygons=TWO)
    batch_submit(batch=world.batch)

    rv_context, rv = new_page(browser)
    rv.goto(f"{stack.url}/images/{photo.pk}/review/")
    log_in(rv, "reviewer")
    wait_for_js(rv, "document.body !== null && document.body.dataset.ready === '1'")
    wait_for_js(rv, "window.edgeflow.state().live.connected")
    rv.evaluate("window.notReloaded = true")
    assert rv.evaluate("window.edgeflow.state().status") == "submitted"
    expect(rv.locator("#rv-objects li[data-object]")).to_have_count(2)
    expect(reviewed_row(rv, one.pk)).to_have_text(f"#{one.number} car · {one.area} px · 0 clicks · annotator")

    ws_context, ws = new_page(browser)
    ws.goto(f"{stack.url}/images/{photo.pk}/annotate/")
    log_in(ws, "manager")
    wait_for_js(ws, "document.body !== null && document.body.dataset.ready === '1'")
    expect(ws.locator("#ws-connection")).to_have_attribute("data-state", "connected", timeout=30_000)
    expect(ws.locator(f"#ws-viewers .viewer[data-user-id='{reviewer.pk}']")).to_be_visible(timeout=15_000)
    expect(ws.locator(f"#ws-viewers .viewer[data-user-id='{reviewer.pk}']")).to_have_attribute("data-name", "reviewer")
    expect(rv.locator(f"#rv-viewers .viewer[data-user-id='{manager.pk}']")).to_be_visible(timeout=15_000)

    # 1. A new object (over REST, as the manager): a third row for the reviewer.
    created = call("POST", f"{stack.url}/api/images/{photo.pk}/objects/",
                   json_body={"label": world.label.pk, "polygons": THREE},
                   headers={"Authorization": f"Token {token_for(manager)}"})  # fmt: skip
    assert created.status == 201, created.body
    three = AnnotationObject.objects.get(pk=created.json()["id"])
    expect(reviewed_row(rv, three.pk)).to_have_text(f"#{three.number} car · {three.area} px · 0 clicks · manager")
    expect(rv.locator("#rv-objects li[data-object]")).to_have_count(3)
    wait_for_js(rv, "window.edgeflow.state().objects === 3")
    expect(workspace_row(ws, three.pk)).to_be_visible()
    still_live(rv)

    # 2. The manager relabels object one in the workspace: the reviewer's row names the new label.
    workspace_row(ws, one.pk).get_by_label("Label").select_option(label="tree")
    wait_saved(ws)
    one.refresh_from_db()
    assert one.label_id == world.spare_label.pk and one.version == 2
    expect(reviewed_row(rv, one.pk)).to_have_text(f"#{one.number} tree · {one.area} px · 0 clicks · annotator")
    still_live(rv)

    # 3. The manager edits object two's polygon: the reviewer sees the lock while they edit, then the new area.
    workspace_row(ws, two.pk).locator("button.select").click()
    wait_for_js(
        ws,
        f"window.edgeflow.state().selected === 's{two.pk}' && "
        f"window.edgeflow.state().team.leases.some(l => l.object === {two.pk} && l.mine)",
    )
    expect(reviewed_row(rv, two.pk)).to_have_attribute("data-leased-by", "manager", timeout=15_000)
    area_before = two.area
    drag_vertex(ws, [480, 250], -60, 40)
    wait_saved(ws)
    two.refresh_from_db()
    assert two.version == 2 and two.polygons != TWO and two.area != area_before
    expect(reviewed_row(rv, two.pk)).to_have_text(f"#{two.number} car · {two.area} px · 0 clicks · annotator")
    ws.keyboard.press("Escape")  # done: the lease goes
    expect(reviewed_row(rv, two.pk)).not_to_have_attribute("data-leased-by", "manager", timeout=15_000)
    still_live(rv)

    # 4. The manager deletes object two: its row goes from the reviewer's list.
    workspace_row(ws, two.pk).locator("button.delete").click()
    wait_saved(ws)
    assert not AnnotationObject.objects.filter(pk=two.pk).exists()
    expect(reviewed_row(rv, two.pk)).to_have_count(0)
    expect(rv.locator("#rv-objects li[data-object]")).to_have_count(2)
    wait_for_js(rv, "window.edgeflow.state().objects === 2")
    expect(reviewed_row(rv, one.pk)).to_contain_text("tree")
    expect(reviewed_row(rv, three.pk)).to_be_visible()
    still_live(rv)
    screenshot(rv, "review-live")
    ws_context.close()
    rv_context.close()
