"""A GeoTIFF uploaded through the API: stored as sent, georeferencing in `meta`, shown as its stretched bands."""

from pathlib import Path

import numpy as np

from backend.images.display import render
from backend.images.models import Image
from tests.backend.test_medical_sources import post_files, shown
from tests.conftest import World, upload
from tests.geotiffs import TRANSFORM, sentinel_like, write_geotiff


def test_a_geotiff_upload_keeps_its_file_and_georeferencing(world: World, tmp_path: Path) -> None:
    data = sentinel_like(bands=4)
    path = write_geotiff(tmp_path / "scene.tif", data, descriptions=["B02", "B03", "B04", "B08"])
    response = post_files(world, upload("scene.tif", path.read_bytes()))
    assert response.status_code == 201, response.content
    image = response.json()["created"][0]
    assert (image["kind"], image["band_count"], image["format"]) == ("geotiff", 4, "GEOTIFF")
    assert image["meta"]["crs"]["epsg"] == 32633
    assert image["meta"]["transform"] == list(TRANSFORM)[:6]
    stored = Image.objects.get(pk=image["id"])
    assert Path(stored.file.path).read_bytes() == path.read_bytes() and stored.file.name.endswith(".tif")
    samples = np.moveaxis(data, 0, -1)[:, :, image["display"]["bands"]]
    mapping = {**image["display"], "bands": [0, 1, 2]}
    assert np.array_equal(shown(world, image), render(samples, mapping))
    thumb = world.client("manager").get(image["thumbnail_url"])
    assert thumb.status_code == 200 and thumb["Content-Type"] == "image/jpeg"
