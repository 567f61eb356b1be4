"""A manager downloads a Pascal VOC export of the demo project from the project page."""

import io
import zipfile

import numpy as np
import pytest
from django.core.management import call_command
from PIL import Image as PILImage
from playwright.sync_api import Page, expect

from tests.browser.conftest import ARTIFACTS, log_in, screenshot

pytestmark = pytest.mark.browser


def test_manager_downloads_a_voc_archive_from_the_project_page(live_server, transactional_db, page: Page) -> None:
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
    form = page.locator("#export")
    expect(form).to_be_visible()
    form.locator("select[name=type]").select_option("voc")
    form.get_by_label("include image files").uncheck()
    screenshot(page, "export-form")
    with page.expect_download() as download_info:
        form.get_by_role("button", name="Download .zip").click()
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
            {"id": 1, "image_id": 1, "category_id": 1, "segmentation": [[20, 20, 120, 20, 120, 90, 20, 90]]}
        ],
    }
    upload = {"name": "instances.json", "mimeType": "application/json", "buffer": json.dumps(coco).encode()}

    log_in(page, live_server.url, "demo-manager", "demo-manager")
    page.goto(f"{live_server.url}/projects/{project.pk}/")
    form = page.locator("#import")
    form.locator("input[type=file]").set_input_files(upload)
    form.get_by_role("button", name="Import annotations").click()
    expect(form.locator("[data-result]")).to_have_text("1 objects imported; new labels: bus.")
    screenshot(page, "import-done")
    imported = AnnotationObject.objects.get(image=image, source="imported")
    assert imported.label.name == "bus" and imported.bbox == [20.0, 20.0, 100.0, 70.0]

    form.locator("input[type=file]").set_input_files(upload)  # the same file again: nothing twice
    form.get_by_role("button", name="Import annotations").click()
    expect(form.locator("[data-result]")).to_have_text("0 objects imported; 1 were already there.")
    assert AnnotationObject.objects.filter(image=image, source="imported").count() == 1
