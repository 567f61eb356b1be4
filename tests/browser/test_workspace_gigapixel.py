"""A 20000×20000 image in the workspace: shown tile by tile (never its file), panned and zoomed, one object
segmented by clicks in full-resolution coordinates and saved.

Real Chromium against a live daphne (embedded inference). The image is made in the test with libvips (streaming):
a grey gradient with one red disk, saved as a JPEG, then uploaded through the service, which tiles it.
"""

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from playwright.sync_api import Browser

from backend.annotations.models import AnnotationObject
from ml.postprocess import polygons_to_mask
from tests.browser.conftest import screenshot, wait_for_js
from tests.browser.test_workspace import click_image, new_page, open_workspace, wait_saved
from tests.live_stack import Stack, run_stack

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SIZE = 20000
DISK = (12000, 8000, 700)  # centre x, y and radius, in image pixels


def make_gigapixel(path: Path) -> None:
    import pyvips

    xy = pyvips.Image.xyz(SIZE, SIZE)
    x, y = xy[0], xy[1]
    grey = x * (50 / SIZE) + y * (40 / SIZE) + 110
    cx, cy, r = DISK
    disk = ((x - cx) ** 2 + (y - cy) ** 2) < r * r
    image = disk.ifthenelse(200, grey).bandjoin([disk.ifthenelse(40, grey), disk.ifthenelse(35, grey)])
    image.cast("uchar").write_to_file(f"{path}[Q=85]")


@pytest.fixture(scope="module")
def stack(tmp_path_factory, django_db_setup, django_db_blocker) -> Iterator[Stack]:
    from backend.web.templatetags.vite import MANIFEST

    assert MANIFEST.exists(), "The browser client is not built: run `make frontend` (make test does)."
    yield from run_stack(tmp_path_factory, team=False, workers=0)


@pytest.fixture
def gigapixel(transactional_db, settings, stack, world, tmp_path):
    from tests.conftest import upload_to_batch

    settings.MEDIA_ROOT = stack.media
    path = tmp_path / "giga.jpg"
    make_gigapixel(path)
    image = upload_to_batch(world, "giga.jpg", path.read_bytes())
    assert (image.width, image.height) == (SIZE, SIZE)
    return image


IMAGE_PIXEL = """([x, y]) => {
  const canvas = window.edgeflow.canvas.imageLayer.getNativeCanvasElement();
  const box = canvas.getBoundingClientRect();
  const k = canvas.width / box.width;
  const p = window.edgeflow.toScreen(x, y);
  return Array.from(canvas.getContext("2d").getImageData(Math.floor((p.x - box.left) * k),
                                                        Math.floor((p.y - box.top) * k), 1, 1).data);
}"""


def disk_iou(polygons: list, margin: int = 1200) -> float:
    """IoU with the disk, on the full-resolution pixels of a window around it."""
    cx, cy, r = DISK
    left, top = cx - margin, cy - margin
    moved = [
        {"outer": [[px - left, py - top] for px, py in p["outer"]],
         "holes": [[[px - left, py - top] for px, py in h] for h in p["holes"]]}
        for p in polygons
    ]  # fmt: skip
    drawn = polygons_to_mask(moved, 2 * margin, 2 * margin)
    ys, xs = np.mgrid[0 : 2 * margin, 0 : 2 * margin]
    truth = (xs + left - cx) ** 2 + (ys + top - cy) ** 2 < r * r
    return float((drawn & truth).sum() / max(1, (drawn | truth).sum()))


def test_a_gigapixel_image_is_shown_by_tiles_zoomed_and_segmented(stack, world, gigapixel, browser: Browser) -> None:
    context, page = new_page(browser)
    asked: list[str] = []
    page.on("request", lambda request: asked.append(request.url))
    open_workspace(page, stack, gigapixel.pk, login=True)
    image_id = gigapixel.pk
    tiles = f"/api/images/{image_id}/tiles/"

    # Fitted: the backdrop and the fit level's tiles, a few dozen, and never the file itself.
    settled = "(() => {{ const t = window.edgeflow.canvas.tileStats; return t.level >= {} && t.pending === 0; }})()"
    wait_for_js(page, settled.format(0))
    fitted = page.evaluate("window.edgeflow.canvas.tileStats")
    assert not [url for url in asked if f"/api/images/{image_id}/file" in url]
    assert 0 < fitted["requested"] <= 60 and fitted["failed"] == 0
    assert fitted["level"] <= 11  # 20000 px on ~1250 screen px: the 1250-px level or coarser
    red = page.evaluate(IMAGE_PIXEL, [DISK[0], DISK[1]])
    grey = page.evaluate(IMAGE_PIXEL, [3000, 15000])
    assert red[0] > 150 and red[1] < 90, red
    assert abs(grey[0] - grey[1]) < 20 and grey[0] > 90, grey
    screenshot(page, "workspace-gigapixel-1-fitted")

    # Zoom in on the disk (wheel, anchored there) and pan with the middle button: finer tiles, visible ones only.
    anchor = page.evaluate(f"window.edgeflow.toScreen({DISK[0]}, {DISK[1]})")
    page.mouse.move(anchor["x"], anchor["y"])
    for _ in range(18):
        page.mouse.wheel(0, -100)
    wait_for_js(page, "window.edgeflow.canvas.view.scale > 0.4")
    page.mouse.move(anchor["x"] + 100, anchor["y"] + 60)
    page.mouse.down(button="middle")
    page.mouse.move(anchor["x"] - 20, anchor["y"] - 10, steps=5)
    page.mouse.up(button="middle")
    wait_for_js(page, settled.format(14))
    zoomed = page.evaluate("window.edgeflow.canvas.tileStats")
    assert zoomed["level"] >= 14 and zoomed["failed"] == 0
    assert zoomed["requested"] - fitted["requested"] <= 80  # the view's tiles, not the level's 1600
    levels = {int(url.split(tiles, 1)[1].split("/")[0]) for url in asked if tiles in url}
    assert max(levels) == zoomed["level"]
    assert not [url for url in asked if f"/api/images/{image_id}/file" in url]
    edge = page.evaluate(IMAGE_PIXEL, [DISK[0] + DISK[2] - 30, DISK[1]])  # just inside the disk's edge, sharp now
    assert edge[0] > 150 and edge[1] < 90, edge
    screenshot(page, "workspace-gigapixel-2-zoomed")

    # Segment the disk: clicks in full-resolution pixels, the mask drawn over its zoom-in box.
    scores = []
    for index, (x, y) in enumerate([(DISK[0], DISK[1]), (DISK[0] - 400, DISK[1] + 300)], start=1):
        click_image(page, x, y)
        wait_for_js(
            page,
            f"(() => {{ const s = window.edgeflow.state(); return s.awaiting === null && s.clicks === {index}"
            " && s.maskArea > 0; })()",
            timeout=60_000,
        )
        mask = page.evaluate("window.edgeflow.clicking.mask")
        scores.append(disk_iou(mask["polygons"]))
    assert scores[-1] > 0.9, scores
    bx, by, bw, bh = mask["mask_box"]
    assert bx <= DISK[0] - DISK[2] and by <= DISK[1] - DISK[2] and bx + bw >= DISK[0] + DISK[2]
    assert abs(mask["area"] - np.pi * DISK[2] ** 2) < 0.05 * mask["area"]
    screenshot(page, "workspace-gigapixel-3-mask")

    page.keyboard.press("Space")  # finish: the polygons become an object, saved over REST
    wait_saved(page)
    obj = AnnotationObject.objects.get(image_id=image_id)
    assert disk_iou(obj.polygons) > 0.9
    x, y, w, h = obj.bbox
    assert abs(x - (DISK[0] - DISK[2])) < 30 and abs(y - (DISK[1] - DISK[2])) < 30 and abs(w - 2 * DISK[2]) < 60
    assert obj.mask_rle["size"] == [SIZE, SIZE]
    screenshot(page, "workspace-gigapixel-4-saved")

    # The read-only view (the review page's bundle) shows it by tiles too, with the saved object.
    asked.clear()
    page.goto(f"{stack.url}/images/{image_id}/view/")
    wait_for_js(page, "document.body.dataset.ready === '1'")
    wait_for_js(page, settled.format(0))
    assert page.evaluate("window.edgeflow.canvas.tileStats")["loaded"] > 0
    assert not [url for url in asked if f"/api/images/{image_id}/file" in url]
    assert page.evaluate(IMAGE_PIXEL, [DISK[0], DISK[1]])[0] > 150
    screenshot(page, "workspace-gigapixel-5-read-only-view")
    context.close()
