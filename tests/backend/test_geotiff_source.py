"""The GeoTIFF reader on files written by rasterio: georeferencing, bands and display from the header, samples
equal to what was written (nodata as NaN), band presets, and clear refusals of broken or oversized files."""

from pathlib import Path

import numpy as np
import pytest
import rasterio
import tifffile
from rasterio.crs import CRS

from backend.common.errors import InvalidInput
from backend.images.display import render
from backend.images.sources import open_source
from backend.images.sources.geotiff import band_presets, open_geotiff
from tests.geotiffs import ROTATED, TRANSFORM, UTM33, sentinel_like, write_geotiff


def test_a_four_band_uint16_scene_reads_with_its_crs_transform_and_bands(tmp_path: Path) -> None:
    data = sentinel_like(60, 80, 4)
    path = write_geotiff(tmp_path / "s2.tif", data, descriptions=["B02", "B03", "B04", "B08"], compress="deflate")
    source = open_source(path, "s2.tif")
    info = source.info
    assert (info.kind, info.format, info.bands, info.slices) == ("geotiff", "GEOTIFF", 4, 1)
    assert (info.width, info.height) == (80, 60)
    assert info.sample_type == "uint16"  # no nodata: the stored samples as they are
    assert info.meta["crs"]["epsg"] == 32633 and CRS.from_wkt(info.meta["crs"]["wkt"]) == CRS.from_string(UTM33)
    assert info.meta["crs"]["units"] == "metre"
    assert info.meta["transform"] == list(TRANSFORM)[:6]
    assert info.meta["bounds"] == [600012.5, 5350007.5 - 600, 600012.5 + 800, 5350007.5]
    assert [band["description"] for band in info.meta["bands"]] == ["B02", "B03", "B04", "B08"]
    assert info.meta["nodata"] is None
    # The file names its bands (Sentinel-2's B02 B03 B04 B08): true colour is the default, and the presets say so.
    assert info.display == {"mode": "percentile", "low": 2.0, "high": 98.0, "bands": [2, 1, 0], "invert": False}
    assert info.meta["band_presets"] == [
        {"name": "True colour 4-3-2", "bands": [2, 1, 0]},
        {"name": "False colour 8-4-3", "bands": [3, 2, 1]},
        {"name": "Bands 1-2-3", "bands": [0, 1, 2]},
    ]
    samples = source.read_slice(0)
    assert samples.dtype == np.uint16 and samples.shape == (60, 80, 4)
    assert (samples == np.moveaxis(data, 0, -1)).all()
    rgb = render(samples, info.display)  # a 2–98 % stretch per band: each channel spans black to white
    assert rgb.shape == (60, 80, 3) and all(rgb[:, :, c].min() == 0 and rgb[:, :, c].max() == 255 for c in range(3))


def test_unnamed_bands_show_1_2_3_and_get_presets_by_band_count(tmp_path: Path) -> None:
    path = write_geotiff(tmp_path / "l1c.tif", sentinel_like(20, 30, 13), dtype="uint16")
    info = open_source(path, "l1c.tif").info
    assert info.display["bands"] == [0, 1, 2]
    names = {preset["name"]: preset["bands"] for preset in info.meta["band_presets"]}
    assert names["True colour 4-3-2 (as Sentinel-2 L1C)"] == [3, 2, 1]
    assert names["False colour 8-4-3 (as Sentinel-2 L1C)"] == [7, 3, 2]
    assert names["SWIR 12-8A-4 (as Sentinel-2 L1C)"] == [12, 8, 3]
    assert names["Bands 1-2-3"] == [0, 1, 2]
    three = open_source(write_geotiff(tmp_path / "rgb16.tif", sentinel_like(20, 30, 3)), "rgb16.tif").info
    assert "band_presets" not in three.meta and three.display["bands"] == [0, 1, 2]


@pytest.mark.parametrize(
    ("descriptions", "expected"),
    [
        (["Blue", "Green", "Red (665 nm)", "Red edge", "NIR"], {"True colour 3-2-1": [2, 1, 0], "False colour 5-3-2": [4, 2, 1]}),
        (["coastal", "blue", "green", "red", "nir08", "swir16", "swir22"],
         {"True colour 4-3-2": [3, 2, 1], "False colour 5-4-3": [4, 3, 2], "SWIR 7-5-4": [6, 4, 3], "Agriculture 6-5-2": [5, 4, 1]}),
        # Landsat's own band names are not Sentinel-2's: B8 is panchromatic there; the count decides (11: Landsat).
        ([f"B{n}" for n in range(1, 12)], {"True colour 4-3-2 (as Landsat 8/9)": [3, 2, 1], "False colour 5-4-3 (as Landsat 8/9)": [4, 3, 2],
          "SWIR 7-5-4 (as Landsat 8/9)": [6, 4, 3], "Agriculture 6-5-2 (as Landsat 8/9)": [5, 4, 1]}),
        (["B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B09", "B11", "B12"],
         {"True colour 4-3-2": [3, 2, 1], "False colour 8-4-3": [7, 3, 2], "SWIR 12-8A-4": [11, 8, 3], "Agriculture 11-8-2": [10, 7, 1]}),
        (["", "", "", "", ""], {}),  # five unnamed bands: nothing to go by but "Bands 1-2-3"
    ],
)  # fmt: skip
def test_band_presets_come_from_the_band_names(descriptions: list[str], expected: dict) -> None:
    bands = [{"description": text, "colorinterp": "undefined"} for text in descriptions]
    presets, _ = band_presets(bands)
    assert {preset["name"]: preset["bands"] for preset in presets} == {**expected, "Bands 1-2-3": [0, 1, 2]}


def test_nodata_pixels_read_as_nan_so_the_stretch_ignores_them(tmp_path: Path) -> None:
    data = sentinel_like(40, 50, 4, seed=3) + 1
    data[:, :, :10] = 0  # a scene's no-data margin
    path = write_geotiff(tmp_path / "margin.tif", data, nodata=0)
    source = open_source(path, "margin.tif")
    assert source.info.sample_type == "float32" and source.info.meta["nodata"] == 0.0
    samples = source.read_slice(0)
    assert np.isnan(samples[:, :10]).all() and not np.isnan(samples[:, 10:]).any()
    assert (samples[:, 10:] == np.moveaxis(data, 0, -1)[:, 10:]).all()  # float32 holds uint16 exactly
    rgb = render(samples, source.info.display)
    assert (rgb[:, :10] == 0).all()  # no data shows black
    # The stretch is that of the valid pixels alone: the margin's zeros do not pull the low end down.
    low = np.percentile(data[0, :, 10:], 2)
    assert (rgb[:, 10:, 0][np.moveaxis(data, 0, -1)[:, 10:, 0] <= low] == 0).all()
    assert low > 0 and (rgb[:, 10:, 0] > 0).mean() > 0.9


def test_float_nodata_nan_and_a_single_band(tmp_path: Path) -> None:
    data = np.linspace(-5, 40, 30 * 20, dtype=np.float32).reshape(1, 30, 20)
    data[0, 0, 0] = -9999
    source = open_source(write_geotiff(tmp_path / "dem.tif", data, nodata=-9999), "dem.tif")
    assert (source.info.bands, source.info.sample_type, source.info.display["bands"]) == (1, "float32", [0])
    samples = source.read_slice(0)
    assert samples.shape == (30, 20) and np.isnan(samples[0, 0])
    assert (samples.ravel()[1:] == data.ravel()[1:]).all()


def test_an_8_bit_aerial_rgb_is_shown_as_stored(tmp_path: Path) -> None:
    data = np.random.default_rng(4).integers(0, 256, (3, 16, 24), dtype=np.uint8)
    path = write_geotiff(tmp_path / "ortho.tif", data, crs="EPSG:25832", transform=ROTATED, photometric="RGB")
    source = open_source(path, "ortho.tif")  # not handed to the photo path: it keeps its georeferencing
    assert source.info.kind == "geotiff" and source.info.meta["transform"] == list(ROTATED)[:6]
    assert source.info.meta["resolution"] is None  # rotated: no single pixel size
    assert source.info.display["mode"] == "window"
    assert (render(source.read_slice(0), source.info.display) == np.moveaxis(data, 0, -1)).all()


def test_plain_tiffs_are_not_geotiffs(tmp_path: Path) -> None:
    path = tmp_path / "plain.tif"
    tifffile.imwrite(path, np.zeros((10, 12), np.uint16))
    assert open_geotiff(path, "plain.tif") is None
    assert open_source(path, "plain.tif").info.kind == "scalar"
    (tmp_path / "x.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    assert open_geotiff(tmp_path / "x.png", "x.png") is None


@pytest.mark.parametrize("compress", [None, "deflate"])
def test_a_truncated_geotiff_is_refused_with_a_clear_message(tmp_path: Path, compress: str | None) -> None:
    options = {"compress": compress} if compress else {}
    good = write_geotiff(tmp_path / "good.tif", sentinel_like(200, 300, 4), **options)
    raw = good.read_bytes()
    bad = tmp_path / "bad.tif"
    bad.write_bytes(raw[: len(raw) * 3 // 4])
    with pytest.raises(InvalidInput) as refused:
        open_source(bad, "field.tif")
    assert refused.value.code == "corrupt_image"
    assert refused.value.message.startswith("field.tif: the GeoTIFF's pixel data is truncated or corrupt (")
    assert str(tmp_path) not in refused.value.message  # GDAL's message without the stored file's path


def test_corrupt_compressed_blocks_are_refused_at_upload_or_when_read(tmp_path: Path, monkeypatch) -> None:
    """Opening reads the last strip of rows (a truncated file is refused at once); damage elsewhere is refused
    when the slice is read (the upload's rendering reads it whole)."""
    from backend.images.sources import geotiff

    good = write_geotiff(tmp_path / "good.tif", sentinel_like(200, 300, 4), compress="deflate")
    raw = bytearray(good.read_bytes())
    with tifffile.TiffFile(good) as tif:
        offset = tif.pages[0].dataoffsets[0]
    raw[offset + 2 : offset + 400] = bytes(398)  # the first strip's deflate stream
    bad = tmp_path / "bad.tif"
    bad.write_bytes(bytes(raw))
    with pytest.raises(InvalidInput) as refused:
        open_source(bad, "scene.tif")  # one strip of rows: the whole image is read at once
    assert refused.value.code == "corrupt_image" and "scene.tif: the GeoTIFF's pixel data" in refused.value.message
    monkeypatch.setattr(geotiff, "STRIP_SAMPLES", 300 * 4 * 20)
    source = open_source(bad, "scene.tif")  # the header and the last rows are fine
    with pytest.raises(InvalidInput) as refused:
        source.read_slice(0)
    assert refused.value.code == "corrupt_image" and "(rows 0–" in refused.value.message


def test_a_damaged_geotiff_header_is_refused(tmp_path: Path) -> None:
    raw = bytearray(write_geotiff(tmp_path / "good.tif", sentinel_like(20, 30, 4)).read_bytes())
    with tifffile.TiffFile(tmp_path / "good.tif") as tif:
        strips = tif.pages[0].tags["StripOffsets"]
        count = len(tif.pages[0].dataoffsets)
    # Every strip offset points past the file's end: the tags parse, GDAL cannot read the pixels.
    width = 4 if strips.dtype in (4, 16) else 2
    past = (len(raw) + 10**6).to_bytes(width, "little")
    for index in range(count):
        at = strips.valueoffset + index * width
        raw[at : at + width] = past
    (tmp_path / "bad.tif").write_bytes(bytes(raw))
    with pytest.raises(InvalidInput) as refused:
        open_source(tmp_path / "bad.tif", "bad.tif")
    assert refused.value.code == "corrupt_image" and refused.value.message.startswith("bad.tif: ")


def test_pixels_and_samples_are_bounded_from_the_header(tmp_path: Path, settings) -> None:
    path = write_geotiff(tmp_path / "big.tif", sentinel_like(30, 40, 13))
    settings.MAX_IMAGE_PIXELS = 30 * 40 - 1
    with pytest.raises(InvalidInput) as refused:
        open_source(path, "big.tif")
    assert refused.value.code == "image_too_large"
    settings.MAX_IMAGE_PIXELS = 30 * 40
    settings.MAX_SOURCE_SAMPLES = 30 * 40 * 13 - 1
    with pytest.raises(InvalidInput) as refused:
        open_source(path, "big.tif")
    assert refused.value.code == "image_too_large" and "13 bands of 40×30" in refused.value.message


def test_slices_are_read_strip_by_strip(tmp_path: Path, monkeypatch) -> None:
    from backend.images.sources import geotiff

    data = sentinel_like(97, 33, 5, seed=9)
    path = write_geotiff(tmp_path / "strips.tif", data, nodata=7, tiled=True, blockxsize=16, blockysize=16)
    monkeypatch.setattr(geotiff, "STRIP_SAMPLES", 16 * 33 * 5 * 2)  # two block rows at a time: 4 strips
    source = open_source(path, "strips.tif")
    with rasterio.open(path) as dataset:
        assert len(geotiff._strips(dataset)) == 4
    samples = source.read_slice(0)
    expected = np.moveaxis(data, 0, -1).astype(np.float32)
    expected[expected == 7] = np.nan
    assert np.array_equal(samples, expected, equal_nan=True)
    with pytest.raises(InvalidInput):
        source.read_slice(1)
    some = source.read_slice(0, bands=[4, 0, 2])  # only the bands a display shows, in its order
    assert np.array_equal(some, expected[:, :, [4, 0, 2]], equal_nan=True)
    with pytest.raises(InvalidInput):
        source.read_slice(0, bands=[5])
