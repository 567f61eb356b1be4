"""GeoTIFFs written in the test with rasterio, and Image rows made of them as an upload stores a source."""

import hashlib
from pathlib import Path

import numpy as np
import rasterio
from affine import Affine
from django.core.files.base import ContentFile

# A Sentinel-2-like 10-m UTM 33N scene (north of Vienna), its origin on a whole metre and a fraction.
UTM33 = "EPSG:32633"
TRANSFORM = Affine(10.0, 0.0, 600012.5, 0.0, -10.0, 5350007.5)
ROTATED = Affine(9.5, 1.25, 600012.5, -0.75, -10.5, 5350007.5)  # sheared and rotated: every term matters


def write_geotiff(
    path: Path,
    data: np.ndarray,
    *,
    crs: str | None = UTM33,
    transform: Affine = TRANSFORM,
    nodata: float | None = None,
    descriptions: list[str] | None = None,
    **options,
) -> Path:
    """``data`` (bands × rows × columns) as a GeoTIFF."""
    bands, height, width = data.shape
    profile = {"driver": "GTiff", "width": width, "height": height, "count": bands, "dtype": str(data.dtype),
               "crs": crs, "transform": transform, "nodata": nodata, **options}  # fmt: skip
    with rasterio.open(path, "w", **profile) as dataset:
        dataset.write(data)
        for number, description in enumerate(descriptions or [], start=1):
            dataset.set_band_description(number, description)
    return path


def sentinel_like(height: int = 60, width: int = 80, bands: int = 4, seed: int = 0) -> np.ndarray:
    """uint16 reflectances (0–10000), each band of its own range, so that a stretch per band shows."""
    rng = np.random.default_rng(seed)
    data = rng.integers(0, 3000, size=(bands, height, width), dtype=np.uint16)
    return data + (np.arange(bands, dtype=np.uint16) * 2000)[:, None, None]


def geotiff_image(project, path: Path, name: str = "scene.tif"):
    """An Image row of the GeoTIFF at ``path`` with the reader's info, its file stored as an upload stores it."""
    from backend.images.models import Image
    from backend.images.sources import open_source

    source = open_source(path, name)
    assert source is not None and source.info.kind == "geotiff"
    info, data = source.info, path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    image = Image(
        project=project,
        original_name=name,
        width=info.width,
        height=info.height,
        format=info.format,
        size_bytes=len(data),
        sha256=digest,
        kind=info.kind,
        slice_count=info.slices,
        band_count=info.bands,
        sample_type=info.sample_type,
        display=info.display,
        presets=info.presets,
        meta=info.meta,
    )
    image.file.save(f"{digest}.tif", ContentFile(data), save=False)
    image.save()
    return image
