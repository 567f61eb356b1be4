"""A manager exports the demo project as Pascal VOC from the project page (a job: started, followed, downloaded)
and imports COCO annotations there."""

import io
import zipfile

import numpy as np
import pytest
from django.core.management import call_command
from PIL import Image as PILImage
from playwright.sync_api import Page, expect

from tests.browser.conftest import ARTIFACTS, log_in, screenshot, wait_for_js

pytestmark = pytest.mark.browser


def test_manager_exports_voc_as_a_job_from_the_project_page(live_server, transactional_db, page: Page) -> None:
    from backend.annotations.services import object_create
    from backend.images.models import Image
    from backend.projects.models import Project

    call_command("load_demo")
    project = Project.objects.get(name="Demo project")
    image = Image.objects.filter(project=project).order_by("id").first()
    label = project.labels.order_by("order", "id")[1]
    polygon = [{"outer": [[20, 20], [120, 20], [120, 90], [20, 90]], "holes": []}]
    manager = project.memberships.get(role="manager").user
    object_create(image=image, author=manager, label_id=label.pk, polygons=polygon)

    log_in(page, live_server.url, "demo-manager", "demo-manager")
    page.goto(f"{live_server.url}/projects/{project.pk}/")
    card = page.locator("#export")
    expect(card).to_be_visible()
    card.locator("select[name=format]").select_option("voc")
    card.get_by_label("include image files").uncheck()
    card.get_by_role("button", name="Start export").click()
    row = card.locator("tr[data-job]").first
    expect(row).to_be_visible()
    # The list polls the job until it is done: its bar full, its size and a download link shown.
    wait_for_js(page, "document.querySelector('#export tr[data-job]')?.dataset.status === 'succeeded'", 60_000)
    expect(row.locator("td").nth(4)).to_have_text(" done")
    assert row.locator("progress").evaluate("bar => bar.value") == 1
    expect(row.locator("td").nth(1)).to_have_text("voc")
    screenshot(page, "export-done")
    with page.expect_download() as download_info:
        row.get_by_role("link", name="Download .zip").click()
    download = download_info.value
    assert download.suggested_filename == "Demo-project-voc.zip"
    path = ARTIFACTS / "export-demo-voc.zip"
    download.save_as(path)

    archive = zipfile.ZipFile(io.BytesIO(path.read_bytes()))
    assert [n for n in archive.namelist() if n.startswith("JPEGImages/")] == ["JPEGImages/"]  # the folder, empty
    stem = image.original_name.rsplit(".", 1)[0]
    classes = np.array(PILImage.open(io.BytesIO(archive.read(f"SegmentationClass/{stem}.png"))))
    assert classes.shape == (image.height, image.width)
    assert (classes[30:80, 30:110] == 2).all() and classes[0, 0] == 0 and classes[200, 300] == 0
    assert archive.read("ImageSets/Segmentation/default.txt").decode().split()[0] == stem


def test_manager_imports_coco_annotations_from_the_project_page(live_server, transactional_db, page: Page) -> None:
    import json

    from backend.annotations.models import AnnotationObject
    from backend.images.models import Image
    from backend.projects.models import Project

    call_command("load_demo")
    project = Project.objects.get(name="Demo project")
    image = Image.objects.filter(project=project).order_by("id").first()
    coco = {
        "images": [{"id": 1, "file_name": image.original_name, "width": image.width, "height": image.height}],
        "categories": [{"id": 1, "name": "bus"}],
        "annotations": [
            {"id": 1, "image_id": 1, "category_id": 1, "segmentation": [[20, 20, 120, 20, 120, 90, 20, 90]]},
            {"id": 2, "image_id": 1, "category_id": 1, "segmentation": [[20, 20, 120, 20]]},  # skipped, with why
        ],
    }
    upload = {"name": "instances.json", "mimeType": "application/json", "buffer": json.dumps(coco).encode()}

    log_in(page, live_server.url, "demo-manager", "demo-manager")
    page.goto(f"{live_server.url}/projects/{project.pk}/")
    form = page.locator("#import")
    form.locator("input[type=file]").set_input_files(upload)
    form.get_by_role("button", name="Import annotations").click()
    skipped = "1 skipped (annotation 2: a polygon has fewer than 3 points)"
    expect(form.locator("[data-result]")).to_have_text(
        f"1 objects imported; new labels: bus; {skipped}.", ignore_case=True
    )
    screenshot(page, "import-done")
    imported = AnnotationObject.objects.get(image=image, source="imported")
    assert imported.label.name == "bus" and imported.bbox == [20.0, 20.0, 100.0, 70.0]

    form.locator("input[type=file]").set_input_files(upload)  # the same file again: nothing twice
    form.get_by_role("button", name="Import annotations").click()
    expect(form.locator("[data-result]")).to_have_text(
        f"0 objects imported; 1 were already there; {skipped}.", ignore_case=True
    )
    assert AnnotationObject.objects.filter(image=image, source="imported").count() == 1
