"""A CT study in the workspace, in real Chromium against a live daphne with the real model.

The manager uploads two generated 16-bit CT DICOMs through the project page — one slice, and a multi-frame stack —
and opens them in the workspace: the Display panel's Lung and Bone presets (and typed window values) change what
the canvas shows exactly as the server renders it, a refused value is said and changes nothing; the stack is
stepped through with the keys (, .) and the slider, an object segmented by clicks on slice k is saved on slice k,
only the current slice's objects are shown, and the slice survives a reload (#slice= in the address). Screenshot:
test-artifacts/workspace-ct-slice-annotated.png.
"""

import io
import shutil
from collections.abc import Iterator

import numpy as np
import pytest
from PIL import Image as PILImage
from playwright.sync_api import Page, expect

from backend.annotations.models import AnnotationObject
from backend.images.display import render
from backend.images.models import Image
from tests.backend.test_medical_sources import ct_dicom, window
from tests.browser.conftest import screenshot, wait_for_js
from tests.browser.test_workspace import click_image, new_page, state, wait_mask, wait_saved
from tests.conftest import World
from tests.live_stack import Stack, run_stack
from tests.waiting import wait_until

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

HEIGHT, WIDTH = 192, 224
CY, CX = HEIGHT // 2, WIDTH // 2
AIR, TISSUE, BONE = (12, 12), (CX + 40, CY), (CX, CY)  # (x, y) well inside each region
FRAMES = 4


def phantom() -> np.ndarray:
    """Hounsfield units: air around a soft-tissue disc (r 60) with a bone core (r 18)."""
    yy, xx = np.mgrid[:HEIGHT, :WIDTH]
    r = np.hypot(yy - CY, xx - CX)
    hu = np.full((HEIGHT, WIDTH), -1000.0)
    hu[r < 60] = 40.0
    hu[r < 18] = 900.0
    return hu


@pytest.fixture(scope="module")
def stack(tmp_path_factory, django_db_setup, django_db_blocker) -> Iterator[Stack]:
    from backend.web.templatetags.vite import MANIFEST

    assert MANIFEST.exists(), "The browser client is not built: run `make frontend` (make test does)."
    yield from run_stack(tmp_path_factory, team=False, workers=0)


@pytest.fixture
def uploaded(transactional_db, settings, stack: Stack, world: World, browser) -> Iterator[tuple[Page, dict]]:
    """The manager, logged in, has uploaded chest.dcm (one slice) and cine.dcm (FRAMES slices) on the project page."""
    shutil.copytree(settings.MEDIA_ROOT, stack.media, dirs_exist_ok=True)  # the world's own images
    settings.MEDIA_ROOT = stack.media
    context, page = new_page(browser)
    page.goto(f"{stack.url}/accounts/login/?next=/projects/{world.project.pk}/")
    page.fill("#id_username", "manager")
    page.fill("#id_password", "pw-manager")
    page.click("button[type=submit]")
    form = page.locator("#upload")
    form.locator("input[type=file]").set_input_files(
        [{"name": "chest.dcm", "mimeType": "application/dicom", "buffer": ct_dicom(phantom())},
         {"name": "cine.dcm", "mimeType": "application/dicom", "buffer": ct_dicom(phantom(), frames=FRAMES)}]
    )  # fmt: skip
    form.get_by_role("button", name="Upload").click()
    dicoms = Image.objects.filter(project=world.project, kind="dicom")
    wait_until(lambda: dicoms.count() == 2, what="the two DICOMs uploaded", timeout=60)
    images = {image.original_name: image for image in dicoms}
    yield page, images
    context.close()


def open_image(page: Page, stack: Stack, image_id: int, hash_: str = "") -> None:
    page.goto(f"{stack.url}/images/{image_id}/annotate/{hash_}")
    wait_for_js(page, "document.body.dataset.ready === '1'")
    expect(page.locator("#ws-connection")).to_have_attribute("data-state", "connected", timeout=30_000)


def served(page: Page, stack: Stack) -> np.ndarray:
    """The picture the canvas shows now, fetched again from its URL (the browser's session)."""
    url = state(page)["imageUrl"]
    response = page.request.get(stack.url + url)
    assert response.ok, url
    return np.asarray(PILImage.open(io.BytesIO(response.body())).convert("RGB"))


def grey_at(page: Page, point: tuple[int, int]) -> int:
    """The grey value the canvas shows at image pixel (x, y)."""
    r, g, b, a = page.evaluate(f"window.edgeflow.canvas.shownPixel({point[0]}, {point[1]})")
    assert r == g == b and a == 255, (r, g, b, a)
    return r


def wait_shown(page: Page, url_part: str) -> None:
    """The display request answered and the canvas shows a rendering whose URL holds ``url_part``."""
    wait_for_js(
        page,
        f"(() => {{ const s = window.edgeflow.state(); return !s.displaySending && s.imageUrl.includes({url_part!r}); }})()",
    )


def expected(hu: np.ndarray, center: float, width: float, point: tuple[int, int]) -> int:
    return int(window(hu, center, width)[point[1], point[0], 0])


def test_window_presets_and_typed_values_change_what_the_ct_slice_shows(stack: Stack, uploaded) -> None:
    page, images = uploaded
    chest = images["chest.dcm"]
    hu = phantom()
    open_image(page, stack, chest.pk)
    expect(page.locator("#ws-display")).to_be_visible()
    expect(page.locator("#ws-shown")).to_have_text("File window 1: window L 40 W 400")
    expect(page.locator("#ws-slice")).to_have_count(0)  # one slice: no slice control
    assert np.array_equal(served(page, stack), window(hu, 40, 400))
    for point in (AIR, TISSUE, BONE):
        assert grey_at(page, point) == expected(hu, 40, 400, point)

    page.keyboard.press("-")  # zoomed out: a new rendering keeps the view
    zoomed = page.evaluate("window.edgeflow.canvas.view")
    shown_before = state(page)["imageUrl"]
    page.locator("#ws-presets button", has_text="Lung").click()
    wait_for_js(page, f"window.edgeflow.state().imageUrl !== {shown_before!r}")
    wait_shown(page, "?v=")
    expect(page.locator("#ws-shown")).to_have_text("Lung: window L -600 W 1500")
    expect(page.locator("#ws-presets button.current")).to_have_text("Lung")
    assert np.array_equal(served(page, stack), window(hu, -600, 1500))
    assert grey_at(page, AIR) == expected(hu, -600, 1500, AIR) == 60  # lung window: air is no longer black
    assert grey_at(page, TISSUE) == expected(hu, -600, 1500, TISSUE)
    chest.refresh_from_db()
    assert (chest.display["center"], chest.display["width"]) == (-600, 1500)
    screenshot(page, "workspace-ct-lung-window")

    lung_url = state(page)["imageUrl"]
    page.locator("#ws-presets button", has_text="Bone").click()
    wait_for_js(page, f"window.edgeflow.state().imageUrl !== {lung_url!r}")
    wait_shown(page, "?v=")
    expect(page.locator("#ws-shown")).to_have_text("Bone: window L 400 W 1800")
    assert np.array_equal(served(page, stack), window(hu, 400, 1800))
    assert grey_at(page, AIR) == 0 and grey_at(page, BONE) == expected(hu, 400, 1800, BONE)
    assert grey_at(page, TISSUE) == expected(hu, 400, 1800, TISSUE)
    assert page.evaluate("window.edgeflow.canvas.view") == zoomed  # the view stays as it was: no refit

    # Typed values (the numeric inputs take any value).
    bone_url = state(page)["imageUrl"]
    page.fill("#ws-center-value", "100")
    page.press("#ws-center-value", "Enter")
    page.fill("#ws-width-value", "300")
    page.press("#ws-width-value", "Enter")
    expect(page.locator("#ws-shown")).to_have_text("Window L 100 W 300")
    wait_for_js(page, f"window.edgeflow.state().imageUrl !== {bone_url!r}")
    wait_shown(page, "?v=")
    assert np.array_equal(served(page, stack), window(hu, 100, 300))
    assert grey_at(page, TISSUE) == expected(hu, 100, 300, TISSUE)

    # A refused value: said in the panel; the image and the stored mapping stay.
    typed_url = state(page)["imageUrl"]
    page.fill("#ws-width-value", "0")
    page.press("#ws-width-value", "Enter")
    expect(page.locator("#ws-display-error")).to_contain_text("width must be above 0")
    wait_shown(page, "?v=")
    assert state(page)["imageUrl"] == typed_url
    chest.refresh_from_db()
    assert (chest.display["center"], chest.display["width"]) == (100, 300)
    page.locator("#ws-presets button", has_text="Soft tissue").click()
    expect(page.locator("#ws-display-error")).to_be_hidden()
    expect(page.locator("#ws-shown")).to_have_text("Soft tissue: window L 50 W 400")

    # Someone else changes the window (the API, as another tab would): this page follows.
    soft_url = state(page)["imageUrl"]
    wait_for_js(page, f"window.edgeflow.state().imageUrl !== {soft_url!r} || !window.edgeflow.state().displaySending")
    answer = page.request.put(
        f"{stack.url}/api/images/{chest.pk}/display",
        data={"display": {"mode": "window", "center": -600, "width": 1500}},
        headers={"X-CSRFToken": next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")},
    )
    assert answer.ok, answer.text()
    expect(page.locator("#ws-shown")).to_have_text("Lung: window L -600 W 1500")
    expect(page.locator("#ws-center-value")).to_have_value("-600")
    wait_for_js(page, f"window.edgeflow.canvas.shownPixel({AIR[0]}, {AIR[1]})[0] === 60")


def test_a_stack_is_annotated_slice_by_slice(stack: Stack, uploaded) -> None:
    page, images = uploaded
    cine = images["cine.dcm"]
    hu = phantom()
    frame = lambda index: hu + 100 * index  # noqa: E731 - ct_dicom adds 100 HU per frame
    open_image(page, stack, cine.pk)
    expect(page.locator("#ws-slice-text")).to_have_text(f"Slice 1 / {FRAMES}")
    assert grey_at(page, TISSUE) == expected(frame(0), 40, 400, TISSUE)

    page.keyboard.press(".")
    wait_shown(page, "&slice=1")
    expect(page.locator("#ws-shown")).to_have_text(f"Slice 2 / {FRAMES} · File window 1: window L 40 W 400")
    assert np.array_equal(served(page, stack), window(frame(1), 40, 400))
    assert grey_at(page, TISSUE) == expected(frame(1), 40, 400, TISSUE)
    page.keyboard.press(".")
    wait_shown(page, "&slice=2")
    page.keyboard.press(",")
    wait_shown(page, "&slice=1")
    assert page.evaluate("location.hash") == "#slice=2"
    page.locator("#ws-slice").fill("3")  # the slider
    wait_shown(page, "&slice=3")
    expect(page.locator("#ws-slice-text")).to_have_text(f"Slice 4 / {FRAMES}")
    assert grey_at(page, TISSUE) == expected(frame(3), 40, 400, TISSUE)

    k = 2
    page.locator("#ws-slice").fill(str(k))
    wait_shown(page, f"&slice={k}")
    window_url = state(page)["imageUrl"]
    page.locator("#ws-presets button", has_text="Bone").click()  # the slice shown through another window
    wait_for_js(page, f"window.edgeflow.state().imageUrl !== {window_url!r}")
    wait_shown(page, f"&slice={k}")
    assert np.array_equal(served(page, stack), window(frame(k), 400, 1800))
    click_image(page, *TISSUE)
    wait_mask(page, 1)
    assert state(page)["maskArea"] > 2000
    screenshot(page, "workspace-ct-slice-annotated")

    # Going to another slice with the object under way finishes it first, on the slice it was clicked on.
    page.keyboard.press(".")
    wait_shown(page, f"&slice={k + 1}")
    wait_saved(page)
    obj = AnnotationObject.objects.get(image=cine)
    assert obj.slice == k and obj.source == "interactive" and obj.clicks_used == 1 and obj.area > 2000
    expect(page.locator("#ws-objects li.ws-object")).to_have_count(0)  # slice k+1: none shown
    expect(page.locator("#ws-slice-others")).to_have_text("1 object on other slices")
    assert page.evaluate("window.edgeflow.canvas.objects.objectsGroup.getChildren().length") == 0

    page.keyboard.press(",")
    wait_shown(page, f"&slice={k}")
    expect(page.locator("#ws-objects li.ws-object")).to_have_count(1)
    expect(page.locator("#ws-slice-others")).to_have_text("")

    # A second object, on slice 0, drawn by clicks after going there with the keys.
    for _ in range(k):
        page.keyboard.press(",")
    wait_shown(page, "?v=")
    wait_for_js(page, "window.edgeflow.state().slice === 0")
    click_image(page, *TISSUE)
    wait_mask(page, 1)
    page.keyboard.press("Space")
    wait_saved(page)
    assert sorted(AnnotationObject.objects.filter(image=cine).values_list("slice", flat=True)) == [0, k]

    page.goto(f"{stack.url}/images/{cine.pk}/annotate/#slice={k + 1}")  # the address names the slice
    wait_shown(page, f"&slice={k}")
    page.reload()  # and keeps it
    wait_for_js(page, "document.body.dataset.ready === '1'")
    assert state(page)["slice"] == k and state(page)["imageUrl"].endswith(f"&slice={k}")
    expect(page.locator("#ws-objects li.ws-object")).to_have_count(1)
    expect(page.locator("#ws-objects li.ws-object")).to_have_attribute("data-object", str(obj.pk))
    expect(page.locator("#ws-slice-others")).to_have_text("1 object on other slices")
    help_text = (page.keyboard.press("?"), page.locator("#ws-help").inner_text())[1]
    assert "Previous slice" in help_text and "Next slice" in help_text

    # The read-only view goes slice by slice too, through the same display mapping.
    page.goto(f"{stack.url}/images/{cine.pk}/view/")
    wait_for_js(page, "document.body.dataset.ready === '1'")
    expect(page.locator("#rv-display")).to_have_text("Shown: Bone: window L 400 W 1800")
    expect(page.locator("#rv-objects li[data-object]")).to_have_count(1)  # slice 0's
    for _ in range(k):
        page.keyboard.press(".")
    expect(page.locator("#ws-slice-text")).to_have_text(f"Slice {k + 1} / {FRAMES}")
    expect(page.locator("#rv-objects li[data-object]")).to_have_attribute("data-object", str(obj.pk))
    wait_for_js(page, f"window.edgeflow.state().imageUrl.endsWith('&slice={k}')")


def test_bands_stretch_and_invert_of_a_multi_band_16_bit_image(stack: Stack, uploaded, world: World) -> None:
    """A 4-band 16-bit TIFF (remote-sensing-like): bands 4-3-2 as R, G, B, another stretch, inverted."""
    import tifffile

    from backend.images.services import images_upload
    from tests.conftest import upload

    page, _ = uploaded
    yy, xx = np.mgrid[:48, :64]
    values = np.stack([xx * 60, yy * 80, (xx + yy) * 35, 4000 - xx * 50], axis=2).astype(np.uint16)
    buffer = io.BytesIO()
    tifffile.imwrite(buffer, values, photometric="minisblack", planarconfig="contig")
    report = images_upload(
        project=world.project, files=[upload("bands.tif", buffer.getvalue())], uploaded_by=world.users["manager"]
    )
    image = report.created[0]
    assert (image.kind, image.band_count) == ("scalar", 4)
    open_image(page, stack, image.pk)
    expect(page.locator("#ws-shown")).to_have_text("Stretch 2–98 % · bands 1-2-3")
    assert np.array_equal(served(page, stack), render(values, image.display))

    def settled(before: str) -> None:
        wait_for_js(page, f"window.edgeflow.state().imageUrl !== {before!r}")
        wait_shown(page, "?v=")

    before = state(page)["imageUrl"]
    page.select_option("#ws-band-r", "3")
    page.select_option("#ws-band-g", "2")
    page.select_option("#ws-band-b", "1")
    expect(page.locator("#ws-shown")).to_have_text("Stretch 2–98 % · bands 4-3-2")
    settled(before)
    false_colour = {"mode": "percentile", "low": 2.0, "high": 98.0, "bands": [3, 2, 1], "invert": False}
    assert np.array_equal(served(page, stack), render(values, false_colour))

    before = state(page)["imageUrl"]
    page.fill("#ws-low-value", "10")
    page.press("#ws-low-value", "Enter")
    page.check("#ws-invert")
    expect(page.locator("#ws-shown")).to_have_text("Stretch 10–98 % · bands 4-3-2 · inverted")
    settled(before)
    assert np.array_equal(served(page, stack), render(values, {**false_colour, "low": 10.0, "invert": True}))
    image.refresh_from_db()
    assert image.display == {**false_colour, "low": 10.0, "invert": True}
    screenshot(page, "workspace-bands-4-3-2-inverted")
