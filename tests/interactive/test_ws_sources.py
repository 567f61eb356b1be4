"""A click on each kind of source — a slice of a CT stack, a 16-bit PNG, a 4-band GeoTIFF — segments what the
annotator sees: the slice's rendering through the image's display mapping (the real model, in this process)."""

from pathlib import Path

import cv2
import numpy as np
import pytest

from backend.images.models import Image
from backend.images.services import image_set_display
from ml.postprocess import polygons_to_mask
from tests.backend.test_medical_sources import ct_dicom
from tests.conftest import World, upload_to_batch
from tests.geotiffs import write_geotiff
from tests.interactive.inprocess import Socket
from tests.live_stack import token_for
from tests.own_loop import run_in_own_loop

pytestmark = [pytest.mark.usefixtures("model_loading"), pytest.mark.django_db(transaction=True)]

HEIGHT, WIDTH = 150, 200
CENTRE = {"x": 100, "y": 75, "positive": True}


def disc(radius: int = 40) -> np.ndarray:
    yy, xx = np.mgrid[:HEIGHT, :WIDTH]
    return (yy - 75) ** 2 + (xx - 100) ** 2 < radius**2


def ct_stack() -> bytes:
    """Three CT frames: air with noise, the soft-tissue disc only on slice 2."""
    rng = np.random.default_rng(1)
    air = -1000.0 + rng.normal(0, 20, size=(HEIGHT, WIDTH))
    frames = [air.copy(), air.copy(), np.where(disc(), 40.0 + rng.normal(0, 10, size=(HEIGHT, WIDTH)), air)]
    return ct_dicom(np.stack(frames), frames=3, center=40, width=400)


def segment(world: World, image: Image, clicks: list[dict], **start) -> tuple[dict, dict]:
    socket = Socket(image.pk, token_for(world.users["annotator"]))

    async def scenario() -> tuple[dict, dict]:
        await socket.open()
        await socket.send(type="start", label=world.label.pk, **start)
        started = await socket.until("started")
        await socket.send(type="clicks", seq=1, clicks=clicks)
        answer = await socket.answer(1)
        await socket.close()
        return started, answer

    return run_in_own_loop(scenario)


def iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / max(1, (a | b).sum()))


def drawn(answer: dict) -> np.ndarray:
    assert answer["type"] == "mask", answer
    return polygons_to_mask(answer["polygons"], HEIGHT, WIDTH)


def test_a_click_on_a_slice_of_a_ct_stack_segments_that_slice(world: World) -> None:
    image = upload_to_batch(world, "stack.dcm", ct_stack())
    assert image.slice_count == 3
    started, on_disc = segment(world, image, [CENTRE], slice=2)
    assert started["slice"] == 2
    assert iou(drawn(on_disc), disc()) > 0.8
    _, on_air = segment(world, image, [CENTRE], slice=0)
    assert iou(drawn(on_air), disc()) < 0.5  # nothing there on slice 0


def test_the_model_sees_the_display_mapping_the_annotator_chose(world: World) -> None:
    image = upload_to_batch(world, "stack.dcm", ct_stack())
    image_set_display(image=image, display={"mode": "window", "center": 3000, "width": 10})  # all black
    _, blind = segment(world, image, [CENTRE], slice=2)
    image_set_display(image=image, display={"mode": "window", "center": -600, "width": 1500})  # lung window
    _, seen = segment(world, image, [CENTRE], slice=2)
    assert iou(drawn(seen), disc()) > 0.8
    assert iou(drawn(blind), disc()) < 0.5


def test_a_slice_beyond_the_stack_is_refused(world: World) -> None:
    image = upload_to_batch(world, "stack.dcm", ct_stack())
    socket = Socket(image.pk, token_for(world.users["annotator"]))

    async def scenario() -> dict:
        await socket.open()
        await socket.send(type="start", label=world.label.pk, slice=3)
        reply = await socket.until("error")
        await socket.close()
        return reply

    assert run_in_own_loop(scenario)["code"] == "bad_slice"


def test_a_click_on_a_16_bit_png(world: World) -> None:
    rng = np.random.default_rng(2)
    values = np.where(disc(), 40000, 9000).astype(np.uint16) + rng.integers(0, 2000, (HEIGHT, WIDTH), dtype=np.uint16)
    ok, encoded = cv2.imencode(".png", values)
    image = upload_to_batch(world, "sensor.png", encoded.tobytes())
    assert image.kind == "scalar"
    _, answer = segment(world, image, [CENTRE])
    assert iou(drawn(answer), disc()) > 0.9


def test_a_click_on_a_four_band_geotiff(world: World, tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    data = rng.integers(500, 1500, size=(4, HEIGHT, WIDTH), dtype=np.uint16)
    data[:, disc()] = [[6000], [5000], [800], [7000]]  # a bright field in R and G, dark in blue
    path = write_geotiff(tmp_path / "field.tif", data)
    image = upload_to_batch(world, "field.tif", path.read_bytes())
    assert (image.kind, image.band_count) == ("geotiff", 4)
    _, answer = segment(world, image, [CENTRE])
    assert iou(drawn(answer), disc()) > 0.9
