"""A person creates a project from the project list and sets it up in the page, in the order the Manage forms
come: labels (distinct colours without choosing any), a member, uploaded images, then batches — one of images
picked with the grid's boxes ("select all shown" under a filter), one split by size — assigned to the annotator,
who then finds them."""

import io
import zipfile

import pytest
from playwright.sync_api import Browser, Page, expect

from backend.projects.services import LABEL_PALETTE
from tests.browser.conftest import log_in, screenshot
from tests.conftest import png_bytes

pytestmark = pytest.mark.browser


def test_a_new_project_is_set_up_from_the_pages(live_server, transactional_db, page: Page, browser: Browser) -> None:
    from django.contrib.auth import get_user_model

    from backend.images.models import Batch, Image
    from backend.projects.models import Project

    users = get_user_model()
    users.objects.create_user("lead", password="pw-lead")
    users.objects.create_user("ann", password="pw-ann")

    log_in(page, live_server.url, "lead", "pw-lead")
    new = page.locator("#new-project")
    new.locator("input[name=name]").fill("Street scenes")
    new.get_by_role("button", name="Create").click()
    expect(page.get_by_role("heading", name="Street scenes")).to_be_visible()
    project = Project.objects.get(name="Street scenes")

    label = page.locator("#new-label")
    label.locator("input[name=name]").fill("car")
    label.get_by_role("button", name="Add label").click()
    expect(page.locator(".chip", has_text="car")).to_be_visible()
    label.locator("input[name=name]").fill("car")  # again: the API's message, nothing added
    label.get_by_role("button", name="Add label").click()
    expect(label.locator("[data-result]")).to_contain_text("already has a label")
    page.reload()
    label.locator("input[name=name]").fill("person")  # the colour input already holds the next, unused colour
    label.get_by_role("button", name="Add label").click()
    expect(page.locator("#labels .chip")).to_have_count(2)
    colours = page.locator("#labels .chip").evaluate_all("chips => chips.map(c => c.dataset.color)")
    assert colours == LABEL_PALETTE[:2]
    assert sorted(project.labels.values_list("color", flat=True)) == sorted(LABEL_PALETTE[:2])
    assert label.locator("input[name=color]").input_value() == LABEL_PALETTE[2]

    member = page.locator("#new-member")
    member.locator("input[name=username]").fill("ann")
    member.get_by_role("button", name="Add member").click()
    expect(page.locator("#manage")).to_contain_text("ann (annotator)")

    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        for seed in range(3):
            zipped.writestr(f"street/{seed}.png", png_bytes(seed=seed))
    upload = page.locator("#upload")
    upload.locator("input[type=file]").set_input_files(
        [{"name": "street.zip", "mimeType": "application/zip", "buffer": archive.getvalue()},
         {"name": "extra.png", "mimeType": "image/png", "buffer": png_bytes(seed=7)}]
    )  # fmt: skip
    upload.get_by_role("button", name="Upload").click()
    expect(page.locator(".grid figure")).to_have_count(4)
    page.wait_for_load_state()
    upload.locator("input[type=file]").set_input_files(
        {"name": "again.png", "mimeType": "image/png", "buffer": png_bytes(seed=7)}
    )  # the same pixels again
    upload.get_by_role("button", name="Upload").click()
    expect(upload.locator("[data-result]")).to_have_text("Uploaded. 1 duplicate skipped.")
    expect(page.locator(".grid figure")).to_have_count(4)

    # Three of the four images, picked: all those the filter shows, less one.
    page.locator("#filter select[name=batch]").select_option(label="not in a batch")
    page.locator("#filter").get_by_role("button", name="Filter").click()
    expect(page.locator(".grid figure")).to_have_count(4)
    selection = page.locator("#select-batch")
    expect(selection.get_by_role("button", name="Create a batch from the selected")).to_be_disabled()
    selection.get_by_label("Select all shown").check()
    expect(selection.locator("[data-selected-count]")).to_have_text("4 selected")
    page.locator(".grid figure .pick input").last.uncheck()
    expect(selection.locator("[data-selected-count]")).to_have_text("3 selected")
    expect(page.locator(".grid figure.picked")).to_have_count(3)
    selection.locator("input[name=name]").fill("Picked")
    selection.locator("select[name=assignee_id]").select_option(label="ann (annotator)")
    selection.locator("select[name=reviewer_id]").select_option(label="lead (admin)")
    screenshot(page, "manage-images-selected-for-a-batch")
    picked_ids = sorted(
        int(i) for i in page.locator(".grid figure.picked").evaluate_all("f => f.map(x => x.dataset.image)")
    )
    selection.get_by_role("button", name="Create a batch from the selected").click()
    expect(page.locator("#batches tr", has_text="Picked")).to_contain_text("ann")
    expect(page.locator(".grid figure")).to_have_count(1)  # the filter stays: the one left unbatched
    picked = Batch.objects.get(project=project, name="Picked")
    assert sorted(picked.images.values_list("id", flat=True)) == picked_ids
    assert picked.reviewer.username == "lead"

    split = page.locator("#split")
    expect(split).to_contain_text("Split the 1 unbatched image into")
    split.locator("input[name=size]").fill("3")
    split.locator("select[name=assignee_id]").select_option(label="ann (annotator)")
    split.get_by_role("button", name="Create batches").click()
    expect(page.locator("#split")).to_contain_text("Split the 0 unbatched images")
    screenshot(page, "manage-project-set-up")
    assert (
        sorted(Batch.objects.filter(project=project).values_list("images__batch__assignee__username", flat=True))
        == ["ann"] * 4
    )
    assert Batch.objects.filter(project=project).count() == 2
    assert Image.objects.filter(project=project, batch__isnull=True).count() == 0

    # The lead takes the second batch over: its images leave the annotator's list.
    reassign = page.locator("#reassign")
    reassign.locator("select[name=batch]").select_option(label="Batch 2")
    reassign.locator("select[name=assignee_id]").select_option(label="lead (admin)")
    reassign.get_by_role("button", name="Reassign").click()
    expect(page.locator("#batches tr", has_text="Batch 2")).to_contain_text("lead")
    assert Batch.objects.get(project=project, name="Batch 2").assignee.username == "lead"
    assert Batch.objects.get(project=project, name="Picked").assignee.username == "ann"

    context = browser.new_context()
    annotator = context.new_page()
    log_in(annotator, live_server.url, "ann", "pw-ann", next_url=f"/projects/{project.pk}/")
    expect(annotator.locator(".grid figure a.annotate")).to_have_count(3)
    expect(annotator.locator("#manage")).to_have_count(0)
    context.close()
