"""A huge image in the workspace: the live mask comes at the working size and is drawn stretched over the image.

Real Chromium against a live daphne (embedded inference) with INFERENCE_MAX_PIXELS small enough that a 1000×800
photo is segmented on its 500×400 working copy.
"""

import io
from collections.abc import Iterator

import cv2
import numpy as np
import pytest
from playwright.sync_api import Browser, Page

from tests.browser.conftest import screenshot
from tests.browser.test_workspace import click_image, log_in, new_page
from tests.interactive.test_big_image import CLICK, HEIGHT, LIMIT, WIDTH, big_llama, big_truth, drawn, iou
from tests.live_stack import Stack, run_stack
from tests.waiting import wait_until

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Where the mask canvas is drawn: the alpha of the overlay layer at the screen position of each image pixel given.
OVERLAY_ALPHA = """(points) => {
  const canvas = window.edgeflow.canvas.overlay.getNativeCanvasElement();
  const box = canvas.getBoundingClientRect();
  const k = canvas.width / box.width;
  const ctx = canvas.getContext("2d");
  return points.map(([x, y]) => {
    const p = window.edgeflow.toScreen(x, y);
    return ctx.getImageData(Math.floor((p.x - box.left) * k), Math.floor((p.y - box.top) * k), 1, 1).data[3];
  });
}"""


@pytest.fixture(scope="module")
def stack(tmp_path_factory, django_db_setup, django_db_blocker) -> Iterator[Stack]:
    from backend.web.templatetags.vite import MANIFEST

    assert MANIFEST.exists(), "The browser client is not built: run `make frontend` (make test does)."
    yield from run_stack(tmp_path_factory, team=False, workers=0, extra_env={"INFERENCE_MAX_PIXELS": str(LIMIT)})


@pytest.fixture
def big_photo(transactional_db, settings, stack, world):
    from tests.conftest import upload_to_batch

    settings.MEDIA_ROOT = stack.media
    buffer = io.BytesIO()
    big_llama().save(buffer, format="PNG")
    return upload_to_batch(world, "big-llama.png", buffer.getvalue())


def until(page: Page, script: str, what: str, timeout: float = 60) -> None:
    """Poll ``script`` (a function of no argument) in the page; the page's CSP forbids wait_for_function's eval."""
    wait_until(lambda: page.evaluate(script), timeout=timeout, what=what, every=0.1)


def test_a_working_size_mask_is_drawn_over_the_whole_image(stack, world, big_photo, browser: Browser) -> None:
    context, page = new_page(browser)
    page.goto(f"{stack.url}/images/{big_photo.pk}/annotate/")
    log_in(page)
    until(page, "() => document.body.dataset.ready === '1' && window.edgeflow.state().connected", "the workspace")
    click_image(page, *CLICK)
    until(page, "() => { const s = window.edgeflow.state(); return s.awaiting === null && s.maskArea > 0; }", "a mask")
    mask = page.evaluate("window.edgeflow.clicking.mask")
    screenshot(page, "workspace-big-image-mask")
    assert mask["rle"]["size"] == [HEIGHT // 2, WIDTH // 2]
    truth, ignore = big_truth()
    assert iou(drawn(mask), truth, ignore) > 0.8

    # Image pixels well inside and well outside the object (away from its border and from the click's marker),
    # all over the image: the painted mask must cover the first and none of the second.
    inside = drawn(mask).astype(np.uint8)
    kernel = np.ones((21, 21), np.uint8)
    core, far = cv2.erode(inside, kernel) > 0, cv2.dilate(inside, kernel) == 0
    grid = [
        (x, y) for y in range(5, HEIGHT, 40) for x in range(5, WIDTH, 40) if abs(x - CLICK[0]) + abs(y - CLICK[1]) > 30
    ]
    points_in = [[x, y] for x, y in grid if core[y, x]]
    points_out = [[x, y] for x, y in grid if far[y, x]]
    assert (
        len(points_in) > 50 and max(x for x, _ in points_in) > WIDTH // 2 and max(y for _, y in points_in) > HEIGHT // 2
    )
    alpha_in = page.evaluate(OVERLAY_ALPHA, points_in)
    alpha_out = page.evaluate(OVERLAY_ALPHA, points_out)
    assert all(a > 0 for a in alpha_in), [p for p, a in zip(points_in, alpha_in, strict=True) if a == 0]
    assert not any(alpha_out), [p for p, a in zip(points_out, alpha_out, strict=True) if a]
    context.close()
