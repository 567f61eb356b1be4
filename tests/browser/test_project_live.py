"""The project page, live (backend/web/static/web/project-live.js over ws/projects/<id>/live/), in two browser
contexts against a live daphne: a manager on the project page sees the annotator open an image (their initials on
that image's card and in the online list) and leave it, then sees the batch the annotator submits change status —
batch and image — without a reload. Screenshot: test-artifacts/project-live.png."""

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, expect

from tests.browser.conftest import screenshot, wait_for_js
from tests.browser.test_workspace import log_in, new_page, open_workspace, photo
from tests.conftest import World
from tests.live_stack import Stack, run_stack

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

__all__ = ["photo"]  # the fixture, used here with this module's stack


@pytest.fixture(scope="module")
def stack(tmp_path_factory, django_db_setup, django_db_blocker) -> Iterator[Stack]:
    from backend.web.templatetags.vite import MANIFEST

    assert MANIFEST.exists(), "The browser client is not built: run `make frontend` (make test does)."
    yield from run_stack(tmp_path_factory, team=False, workers=0)


def test_the_manager_sees_who_is_where_and_the_batch_submitted_live(
    stack, world: World, photo, browser: Browser
) -> None:
    annotator, manager = world.users["annotator"], world.users["manager"]
    project_url = f"{stack.url}/projects/{world.project.pk}/"
    lead_context, lead = new_page(browser)
    violations: list[str] = []
    lead.on("console", lambda m: violations.append(m.text) if "Content Security" in m.text else None)
    lead.goto(project_url)
    log_in(lead, "manager")
    wait_for_js(lead, "window.edgeflowProjectLive && window.edgeflowProjectLive.connected")
    expect(lead.locator(f'#project-viewers [data-user-id="{manager.pk}"]')).to_have_count(1)
    lead.evaluate("window.notReloaded = true")
    card = lead.locator(f'[data-image-id="{photo.pk}"]')
    badge = card.locator(f'.presence [data-user-id="{annotator.pk}"]')
    expect(badge).to_have_count(0)
    in_batch = lead.locator(
        f'#batches [data-batch-id="{world.batch.pk}"] .batch-presence [data-user-id="{annotator.pk}"]'
    )
    expect(in_batch).to_have_count(0)

    ann_context, ann = new_page(browser)
    open_workspace(ann, stack, photo.pk, login=True)
    expect(badge).to_have_count(1)
    expect(badge).to_have_text("AN")
    expect(badge).to_have_attribute("title", "annotator has this image open")
    assert badge.evaluate("b => getComputedStyle(b).backgroundColor") != "rgba(0, 0, 0, 0)"
    expect(lead.locator(f'#project-viewers [data-user-id="{annotator.pk}"]')).to_have_count(1)
    expect(in_batch).to_have_count(1)  # and in their batch's row
    expect(in_batch).to_have_attribute("title", f"annotator has {photo.original_name} open")
    screenshot(lead, "project-live")

    # The annotator leaves the image for the project page and submits the batch there.
    ann.goto(project_url)
    expect(badge).to_have_count(0)
    expect(in_batch).to_have_count(0)
    expect(lead.locator(f'#project-viewers [data-user-id="{annotator.pk}"]')).to_have_count(1)  # still online
    row = ann.locator(f'#batches tr[data-batch-id="{world.batch.pk}"]')
    row.get_by_role("button", name="Submit batch").click()
    row.get_by_role("button", name="Yes, submit").click()
    expect(ann.locator(".submitted-note")).to_be_visible()

    lead_row = lead.locator(f'#batches [data-batch-id="{world.batch.pk}"] [data-batch-status]')
    expect(lead_row).to_have_text("Submitted")
    expect(lead_row).to_have_attribute("data-batch-status", "submitted")
    expect(card.locator("[data-image-status]")).to_have_text("Submitted")
    assert lead.evaluate("window.notReloaded") is True
    assert violations == []
    ann_context.close()
    lead_context.close()
