"""A remote-sensing scene from upload to georeferenced export, through the pages, in real Chromium.

The manager uploads a 4-band 16-bit GeoTIFF (UTM 33N) on the project page, opens it in the workspace, picks the
"False colour 8-4-3" band preset, segments a field by one click, saves it, then exports `geotiff` from the project
page's Export card: the downloaded mask GeoTIFF reopens in rasterio with the source's CRS and geotransform and the
object's pixels, and its GeoJSON lies in the source CRS. Screenshot: test-artifacts/workspace-geotiff-annotated.png.
"""

import io
import json
import shutil
import zipfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import rasterio
from playwright.sync_api import expect

from backend.annotations.models import AnnotationObject
from backend.images.models import Image
from ml.postprocess import polygons_to_mask
from tests.browser.conftest import screenshot, wait_for_js
from tests.browser.test_workspace import click_image, new_page, state, wait_mask, wait_saved
from tests.browser.test_workspace_ct import open_image, wait_shown
from tests.conftest import World
from tests.geotiffs import TRANSFORM, UTM33, write_geotiff
from tests.live_stack import Stack, run_stack
from tests.waiting import wait_until

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

HEIGHT, WIDTH = 180, 240
FIELD = (150, 90)  # (x, y): the centre of the bright field


def field() -> np.ndarray:
    yy, xx = np.mgrid[:HEIGHT, :WIDTH]
    return (yy - FIELD[1]) ** 2 + (xx - FIELD[0]) ** 2 < 45**2


def scene(path: Path) -> Path:
    """Blue, green, red, near-infrared reflectances: dark forest, one bright field (high red and NIR)."""
    rng = np.random.default_rng(7)
    data = rng.integers(200, 900, size=(4, HEIGHT, WIDTH), dtype=np.uint16)
    data[:, field()] = np.array([[900], [2500], [5200], [6500]], dtype=np.uint16)
    return write_geotiff(path, data, descriptions=["B02", "B03", "B04", "B08"])


@pytest.fixture(scope="module")
def stack(tmp_path_factory, django_db_setup, django_db_blocker) -> Iterator[Stack]:
    yield from run_stack(tmp_path_factory, team=False, workers=0)


def test_a_geotiff_is_uploaded_annotated_and_exported_with_its_georeferencing(
    stack: Stack, transactional_db, settings, world: World, browser, tmp_path: Path
) -> None:
    shutil.copytree(settings.MEDIA_ROOT, stack.media, dirs_exist_ok=True)
    settings.MEDIA_ROOT = stack.media
    context, page = new_page(browser)
    page.goto(f"{stack.url}/accounts/login/?next=/projects/{world.project.pk}/")
    page.fill("#id_username", "manager")
    page.fill("#id_password", "pw-manager")
    page.click("button[type=submit]")
    source = scene(tmp_path / "field.tif")
    form = page.locator("#upload")
    form.locator("input[type=file]").set_input_files(
        [{"name": "field.tif", "mimeType": "image/tiff", "buffer": source.read_bytes()}]
    )
    form.get_by_role("button", name="Upload").click()
    images = Image.objects.filter(project=world.project, kind="geotiff")
    wait_until(lambda: images.exists(), what="the GeoTIFF uploaded", timeout=60)
    image = images.get()

    open_image(page, stack, image.pk)
    # The file names its bands (Sentinel-2's B02…B08): it opens in true colour, and offers false colour.
    expect(page.locator("#ws-band-presets button.current")).to_have_text("True colour 4-3-2")
    before = state(page)["imageUrl"]
    page.locator("#ws-band-presets button", has_text="False colour 8-4-3").click()
    wait_for_js(page, f"window.edgeflow.state().imageUrl !== {before!r}")
    wait_shown(page, "?v=")
    image.refresh_from_db()
    assert image.display["bands"] == [3, 2, 1]  # NIR, red, green as R, G, B: the field glows
    expect(page.locator("#ws-band-presets button.current")).to_have_text("False colour 8-4-3")
    expect(page.locator("#ws-shown")).to_contain_text("bands 4-3-2")

    click_image(page, *FIELD)
    wait_mask(page, 1)
    screenshot(page, "workspace-geotiff-annotated")
    page.keyboard.press("Space")
    wait_saved(page)
    obj = AnnotationObject.objects.get(image=image)
    mask = polygons_to_mask(obj.polygons, HEIGHT, WIDTH)
    assert (mask & field()).sum() / (mask | field()).sum() > 0.85

    page.goto(f"{stack.url}/projects/{world.project.pk}/")
    card = page.locator("#export")
    card.locator("select[name=format]").select_option("geotiff")
    card.get_by_role("button", name="Start export").click()
    wait_for_js(page, "document.querySelector('#export tr[data-job]')?.dataset.status === 'succeeded'", 60_000)
    with page.expect_download() as download_info:
        card.locator("tr[data-job]").first.get_by_role("link", name="Download .zip").click()
    archive = zipfile.ZipFile(io.BytesIO(Path(download_info.value.path()).read_bytes()))
    context.close()

    with rasterio.MemoryFile(archive.read("masks/field.tif")) as memory, memory.open() as exported:
        assert exported.crs == rasterio.crs.CRS.from_string(UTM33)
        assert exported.transform == TRANSFORM
        labels = exported.read(1)
    assert np.array_equal(labels > 0, np.asarray(_stored_mask(obj)))
    geojson = json.loads(archive.read("geojson/field.geojson"))
    [feature] = geojson["features"]
    xs = [x for ring in feature["geometry"]["coordinates"] for x, _ in ring]
    assert TRANSFORM.c <= min(xs) and max(xs) <= TRANSFORM.c + WIDTH * TRANSFORM.a  # metres east, in the scene
    assert archive.read("images/field.tif") == source.read_bytes()  # the scene as uploaded


def _stored_mask(obj: AnnotationObject) -> np.ndarray:
    from pycocotools import mask as mask_utils

    rle = {"size": obj.mask_rle["size"], "counts": obj.mask_rle["counts"].encode()}
    return mask_utils.decode(rle).astype(bool)
