"""Two people on one image, each in a browser of their own, on a team stack: Redis, and two daphne processes (the
annotator's browser talks to one, the manager's to the other, so every lease and change crosses between them).

The batch's annotator edits object 1 while a manager edits object 2 and a reviewer watches (three browsers at
once): each sees the others in the presence badges, the other's lock (`data-leased-by`) and saved change, live; the manager cannot take the annotator's
object and is told who holds it. An annotator whose browser goes offline loses the lease (short LEASE_TTL_S), the
manager edits the object meanwhile, and the annotator's unsaved edit surfaces as a conflict when back. A manager
takes an object over (its lease broken with "Take over") and the holder, with an unsaved edit, is told so and
keeps the edit.

Selecting a saved object asks for its lease: the tests wait for the selection and the grant, whether the
selection waits for the grant or is made at once.
"""

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Route, expect

from tests.browser.conftest import screenshot, wait_for_js
from tests.browser.test_workspace import drag_vertex, log_in, new_page, photo, wait_saved
from tests.conftest import World
from tests.http import call
from tests.live_stack import Stack, run_stack, token_for

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

__all__ = ["photo"]  # the fixture, used here with this module's stack

# A lease lives 4 s without heartbeats (sent every second): an offline browser's lease is gone within seconds.
SERVER_ENV = {"LEASE_TTL_S": "4", "LEASE_HEARTBEAT_S": "1", "PRESENCE_TTL_S": "6"}
ONE = [{"outer": [[100.0, 100.0], [300.0, 100.0], [200.0, 250.0]], "holes": []}]  # llama.bmp is 513 × 371
TWO = [{"outer": [[350.0, 250.0], [480.0, 250.0], [415.0, 350.0]], "holes": []}]
THREE = [{"outer": [[20.0, 300.0], [80.0, 300.0], [50.0, 360.0]], "holes": []}]


@pytest.fixture(scope="module")
def stack(tmp_path_factory, django_db_setup, django_db_blocker) -> Iterator[Stack]:
    from backend.web.templatetags.vite import MANIFEST

    assert MANIFEST.exists(), "The browser client is not built: run `make frontend` (make test does)."
    for stack in run_stack(tmp_path_factory, team=True, workers=0, extra_env=SERVER_ENV):
        first = stack.url
        stack.start_daphne("daphne-team-2")
        stack.urls = [first, stack.url]
        yield stack


@pytest.fixture
def two_objects(photo, world: World):
    from backend.annotations.services import object_create

    one = object_create(image=photo, author=world.users["annotator"], label_id=world.label.pk, polygons=ONE)
    two = object_create(image=photo, author=world.users["manager"], label_id=world.label.pk, polygons=TWO)
    return one, two


def open_as(browser: Browser, url: str, image_id: int, who: str) -> tuple[BrowserContext, Page]:
    context, page = new_page(browser)
    page.goto(f"{url}/images/{image_id}/annotate/")
    log_in(page, who)
    wait_for_js(page, "document.body.dataset.ready === '1'")
    expect(page.locator("#ws-connection")).to_have_attribute("data-state", "connected", timeout=30_000)
    return context, page


def watch_as_reviewer(browser: Browser, url: str, image_id: int) -> tuple[BrowserContext, Page]:
    """The read-only view of the image (where a reviewer's workspace link leads while the batch is open)."""
    context, page = new_page(browser)
    page.goto(f"{url}/images/{image_id}/view/")
    log_in(page, "reviewer")
    wait_for_js(page, "document.body.dataset.ready === '1'")
    wait_for_js(page, "window.edgeflow.state().live.connected", timeout=30_000)
    return context, page


def watched_row(page: Page, object_id: int):
    return page.locator(f"#rv-objects li[data-object='{object_id}']")


def row(page: Page, object_id: int):
    return page.locator(f"#ws-objects li.ws-object[data-object='{object_id}']")


def holds(page: Page, object_id: int) -> str:
    return f"window.edgeflow.state().team.leases.some(l => l.object === {object_id} && l.mine)"


def select(page: Page, object_id: int) -> None:
    """Select a saved object for editing and wait until it is selected and its lease granted."""
    row(page, object_id).locator("button.select").click()
    wait_for_js(page, f"window.edgeflow.state().selected === 's{object_id}' && {holds(page, object_id)}")


def version_seen(page: Page, object_id: int):
    return page.evaluate(f"window.edgeflow.state().objects.find(o => o.serverId === {object_id})?.version ?? null")


def polygons_seen(page: Page, object_id: int):
    return page.evaluate(f"window.edgeflow.state().objects.find(o => o.serverId === {object_id})?.polygons ?? null")


def free(page: Page, object_id: int) -> str:
    return f"!document.querySelector(\"#ws-objects li.ws-object[data-object='{object_id}']\").hasAttribute('data-leased-by')"


def test_two_annotators_edit_two_objects_of_one_image_and_see_each_other_live(
    stack, world: World, photo, two_objects, browser: Browser
) -> None:
    one, two = two_objects
    annotator, manager = world.users["annotator"], world.users["manager"]
    a_context, a = open_as(browser, stack.urls[0], photo.pk, "annotator")
    b_context, b = open_as(browser, stack.urls[1], photo.pk, "manager")
    c_context, c = watch_as_reviewer(browser, stack.urls[0], photo.pk)  # a third, watching
    expect(a.locator(f"#ws-viewers .viewer[data-user-id='{manager.pk}']")).to_be_visible(timeout=15_000)
    expect(b.locator(f"#ws-viewers .viewer[data-user-id='{annotator.pk}']")).to_be_visible(timeout=15_000)
    for person in (annotator, manager):
        expect(c.locator(f"#rv-viewers .viewer[data-user-id='{person.pk}']")).to_be_visible(timeout=15_000)

    select(a, one.pk)
    select(b, two.pk)
    expect(row(b, one.pk)).to_have_attribute("data-leased-by", "annotator", timeout=15_000)
    expect(row(a, two.pk)).to_have_attribute("data-leased-by", "manager", timeout=15_000)
    expect(row(a, one.pk)).not_to_have_attribute("data-leased-by", "annotator")
    expect(watched_row(c, one.pk)).to_have_attribute("data-leased-by", "annotator", timeout=15_000)
    expect(watched_row(c, two.pk)).to_have_attribute("data-leased-by", "manager", timeout=15_000)

    drag_vertex(a, [300, 100], -30, 25)
    drag_vertex(b, [480, 250], -30, 25)
    wait_saved(a)
    wait_saved(b)
    one.refresh_from_db()
    two.refresh_from_db()
    assert (one.version, two.version) == (2, 2)
    assert one.polygons != ONE and two.polygons != TWO and one.last_editor == annotator and two.last_editor == manager
    # each sees the other's save, live (no reload)
    wait_for_js(a, f"window.edgeflow.state().objects.find(o => o.serverId === {two.pk})?.version === 2")
    wait_for_js(b, f"window.edgeflow.state().objects.find(o => o.serverId === {one.pk})?.version === 2")
    assert polygons_seen(a, two.pk) == two.polygons and polygons_seen(b, one.pk) == one.polygons
    for saved in (one, two):  # and the watching reviewer sees both, live
        expect(watched_row(c, saved.pk)).to_contain_text(f" {saved.area} px ", timeout=15_000)
    assert a.evaluate("window.edgeflow.state().selected") == f"s{one.pk}", "the other's save left A's selection alone"

    # the manager cannot take the annotator's object and is told who holds it; their own stays theirs
    row(b, one.pk).locator("button.select").click()
    lock = b.locator("#ws-lock-message")
    expect(lock).to_be_visible(timeout=15_000)
    expect(lock).to_have_attribute("data-holder", "annotator")
    expect(lock).to_contain_text("annotator")
    wait_for_js(b, f"window.edgeflow.state().selected !== 's{one.pk}'")
    assert not b.evaluate(holds(b, one.pk)) and a.evaluate(holds(a, one.pk))

    # a third member's new object appears in both, live
    created = call("POST", f"{stack.urls[0]}/api/images/{photo.pk}/objects/",
                   json_body={"label": world.label.pk, "polygons": THREE},
                   headers={"Authorization": f"Token {token_for(world.users['admin'])}"})  # fmt: skip
    assert created.status == 201, created.body
    new_id = created.json()["id"]
    expect(row(a, new_id)).to_be_visible(timeout=15_000)
    expect(row(b, new_id)).to_be_visible(timeout=15_000)
    expect(watched_row(c, new_id)).to_be_visible(timeout=15_000)
    assert c.evaluate("window.edgeflow.state().live.connections") == 1, "the reviewer saw it all on one socket"
    select(b, two.pk)  # back on their own object for the picture: each sees the other's lock
    expect(row(a, two.pk)).to_have_attribute("data-leased-by", "manager", timeout=15_000)
    expect(row(b, one.pk)).to_have_attribute("data-leased-by", "annotator", timeout=15_000)
    screenshot(a, "collab-1-annotator-sees-the-managers-lock-and-objects")
    screenshot(b, "collab-1-manager-sees-the-annotators-lock-and-objects")
    screenshot(c, "collab-1-reviewer-watches-both")
    a_context.close()
    b_context.close()
    c_context.close()


def test_an_offline_holder_loses_the_lease_and_its_unsaved_edit_is_a_conflict_when_back(
    stack, world: World, photo, two_objects, browser: Browser
) -> None:
    one, _ = two_objects
    a_context, a = open_as(browser, stack.urls[0], photo.pk, "annotator")
    b_context, b = open_as(browser, stack.urls[1], photo.pk, "manager")
    select(a, one.pk)
    expect(row(b, one.pk)).to_have_attribute("data-leased-by", "annotator", timeout=15_000)

    a_context.set_offline(True)
    drag_vertex(a, [200, 250], 0, -40)  # the annotator's edit, unsaved: kept in its journal
    expect(a.locator("#ws-save")).to_have_attribute("data-state", "offline", timeout=15_000)
    wait_for_js(b, free(b, one.pk), timeout=30_000)  # the lease expired (or went with the dropped socket)

    select(b, one.pk)
    drag_vertex(b, [100, 100], 30, 20)
    wait_saved(b)
    b.keyboard.press("Escape")  # done: the lease goes
    wait_for_js(b, f"!({holds(b, one.pk)})")
    one.refresh_from_db()
    theirs = one.polygons
    assert one.version == 2 and one.last_editor == world.users["manager"]

    a_context.set_offline(False)
    dialog = a.locator("#ws-conflict")
    expect(dialog).to_be_visible(timeout=30_000)
    screenshot(a, "collab-2-offline-edit-is-a-conflict-when-back")
    one.refresh_from_db()
    assert one.version == 2 and one.polygons == theirs, "the manager's save was not overwritten silently"
    a.click("#ws-take-theirs")
    wait_saved(a)
    wait_for_js(a, f"window.edgeflow.state().objects.find(o => o.serverId === {one.pk})?.version === 2")
    assert polygons_seen(a, one.pk) == theirs
    a_context.close()
    b_context.close()


def test_a_manager_breaks_a_lease_and_the_holder_keeps_its_unsaved_edit(
    stack, world: World, photo, two_objects, browser: Browser
) -> None:
    one, _ = two_objects
    a_context, a = open_as(browser, stack.urls[0], photo.pk, "annotator")
    b_context, b = open_as(browser, stack.urls[1], photo.pk, "manager")
    select(a, one.pk)
    expect(row(b, one.pk)).to_have_attribute("data-leased-by", "annotator", timeout=15_000)

    failing = {"on": True}  # the annotator's saves do not get through: its edit stays unsaved

    def saves(route: Route) -> None:
        if failing["on"] and route.request.method == "PATCH":
            route.abort()
        else:
            route.continue_()

    a.route("**/api/objects/**", saves)
    drag_vertex(a, [300, 100], -30, 25)
    wait_for_js(a, "window.edgeflow.state().unsaved > 0")
    expect(a.locator(".ws-take-over")).to_have_count(0)  # only managers may take an object over
    row(b, one.pk).locator(".ws-take-over").click()  # the manager's "Take over" breaks the lease and selects it
    wait_for_js(b, f"window.edgeflow.state().selected === 's{one.pk}' && {holds(b, one.pk)}", timeout=15_000)

    dialog = a.locator("#ws-conflict")
    expect(dialog).to_be_visible(timeout=15_000)
    expect(dialog).to_have_attribute("data-lock", "broken")
    expect(dialog).to_contain_text("broken by manager")
    wait_for_js(a, f"!({holds(a, one.pk)})")
    expect(row(a, one.pk)).to_have_attribute("data-leased-by", "manager", timeout=15_000)
    screenshot(a, "collab-3-lease-broken-by-a-manager")
    one.refresh_from_db()
    assert one.version == 1
    b.keyboard.press("Escape")  # the manager lets it go again without changing it
    wait_for_js(a, free(a, one.pk), timeout=15_000)

    failing["on"] = False
    a.click("#ws-keep-mine")
    wait_saved(a)
    one.refresh_from_db()
    assert one.version == 2 and one.last_editor == world.users["annotator"]
    assert one.polygons[0]["outer"][1] != [300.0, 100.0], "the annotator's edit was saved, not dropped"
    a_context.close()
    b_context.close()


def test_a_change_arriving_mid_drag_neither_drops_nor_loses_the_drag(
    stack, world: World, photo, two_objects, browser: Browser
) -> None:
    """Someone else's save redraws the objects; while the annotator's mouse is down on a vertex it waits for the
    drop (it used to destroy the dragged handle: the moved outline was shown but never saved)."""
    one, _ = two_objects
    a_context, a = open_as(browser, stack.urls[0], photo.pk, "annotator")
    select(a, one.pk)
    start = a.evaluate("window.edgeflow.toScreen(300, 100)")
    a.mouse.move(start["x"], start["y"])
    a.mouse.down()
    a.mouse.move(start["x"] - 15, start["y"] + 10, steps=4)

    created = call("POST", f"{stack.urls[1]}/api/images/{photo.pk}/objects/",
                   json_body={"label": world.label.pk, "polygons": THREE},
                   headers={"Authorization": f"Token {token_for(world.users['admin'])}"})  # fmt: skip
    assert created.status == 201, created.body
    new_id = created.json()["id"]
    wait_for_js(a, f"window.edgeflow.state().objects.some(o => o.serverId === {new_id})")  # arrived mid-drag

    a.mouse.move(start["x"] - 30, start["y"] + 20, steps=4)
    a.mouse.up()
    expect(row(a, new_id)).to_be_visible(timeout=15_000)  # drawn once the drag ended
    wait_for_js(a, f"window.edgeflow.state().objects.find(o => o.serverId === {one.pk})?.version === 2")
    wait_saved(a)
    one.refresh_from_db()
    assert one.version == 2
    moved = one.polygons[0]["outer"][1]
    scale = a.evaluate("window.edgeflow.toScreen(1, 0).x - window.edgeflow.toScreen(0, 0).x")
    assert moved == pytest.approx([300.0 - 30 / scale, 100.0 + 20 / scale], abs=1.0), moved
    assert polygons_seen(a, one.pk) == one.polygons
    a_context.close()
