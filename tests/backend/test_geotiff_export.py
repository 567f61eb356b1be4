"""The georeferenced export read back as GIS users read it: the mask GeoTIFF with rasterio (CRS and transform
identical to the source's, pixels equal to the stored objects painted), the GeoJSON's vertices equal to the
source's affine transform applied to the objects' pixel-edge corners and rasterising back to the stored masks,
and its WGS84 copy equal to pyproj's transformation of those vertices.

The images are stored as the upload stores a source (``tests.geotiffs.geotiff_image``: the reader's info on an
Image row, the file saved), objects through the annotation service."""

import io
import json
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pytest
import rasterio
from affine import Affine
from pyproj import Transformer
from rasterio.crs import CRS
from rasterio.features import rasterize
from rasterio.io import MemoryFile

from backend.annotations.models import AnnotationObject
from backend.annotations.services import object_create_from_mask
from backend.exports.formats import FORMATS, contents_for
from backend.exports.geo import pixel_polygons
from backend.exports.rings import object_rings
from backend.exports.voc_labels import voc_colormap
from backend.images.models import Image
from backend.projects.services import label_create
from ml.postprocess import mask_to_rle, rle_to_mask
from tests.conftest import World
from tests.geotiffs import ROTATED, TRANSFORM, UTM33, geotiff_image, sentinel_like, write_geotiff

H, W = 60, 80


def holed() -> np.ndarray:
    """A field with a hole (a pond), an island in the pond and a hole in the island."""
    mask = np.zeros((H, W), bool)
    mask[4:50, 20:76] = True
    mask[10:40, 26:64] = False
    mask[15:35, 31:59] = True
    mask[20:24, 38:42] = False
    return mask


def box(top: int, left: int, bottom: int, right: int) -> np.ndarray:
    mask = np.zeros((H, W), bool)
    mask[top:bottom, left:right] = True
    return mask


def two_parts() -> np.ndarray:
    """Two parts touching the image's left/bottom and right edges (a MultiPolygon)."""
    return box(52, 0, 60, 6) | box(30, 74, 33, 80)


@pytest.fixture
def scene(world: World, tmp_path: Path):
    """A 4-band UTM 33N scene with, in creation order: a holed field (tree), a speck (car), a two-part object
    (tree) and a box of a third label overlapping the field."""
    image = geotiff_image(world.project, write_geotiff(tmp_path / "scene.tif", sentinel_like(H, W, 4)), "scene.tif")
    third = label_create(project=world.project, name="building", color="#0000ff")
    add = lambda mask, label: object_create_from_mask(  # noqa: E731
        image=image, author=world.users["manager"], label_id=label.pk, mask=mask
    )
    add(holed(), world.spare_label)
    add(box(2, 3, 3, 4), world.label)
    add(two_parts(), world.spare_label)
    add(box(0, 10, 12, 30), third)
    return image


def exported(world: World) -> dict[str, bytes]:
    contents = contents_for(
        FORMATS["geotiff"], project=world.project, images=Image.objects.filter(project=world.project)
    )
    return dict(FORMATS["geotiff"].files(contents))


def category_index(world: World) -> dict[int, int]:
    return {label.pk: index for index, label in enumerate(world.project.labels.order_by("order", "id"), start=1)}


def rings_of(geometry: dict) -> list[list[list[float]]]:
    polygons = [geometry["coordinates"]] if geometry["type"] == "Polygon" else geometry["coordinates"]
    return [ring for polygon in polygons for ring in polygon]


def signed_area(ring: list[list[float]]) -> float:
    xy = np.asarray(ring)
    return float((xy[:-1, 0] * xy[1:, 1] - xy[1:, 0] * xy[:-1, 1]).sum()) / 2


def test_the_mask_geotiff_has_the_source_s_crs_transform_and_the_objects_painted(world: World, scene) -> None:
    files = exported(world)
    with MemoryFile(files["masks/scene.tif"]) as memory, memory.open() as mask:
        with rasterio.open(scene.file.path) as source:
            assert mask.crs == source.crs and mask.crs == CRS.from_string(UTM33)
            assert mask.transform == source.transform == TRANSFORM  # the same six doubles
            assert (mask.width, mask.height, mask.count, mask.dtypes) == (source.width, source.height, 1, ("uint8",))
        values = mask.read(1)
        colours = mask.colormap(1)
        tags = mask.tags()
    expected = np.zeros((H, W), np.uint8)  # later objects over earlier ones, as the masks format paints
    for obj in AnnotationObject.objects.filter(image=scene).order_by("id"):
        expected[rle_to_mask(obj.mask_rle).astype(bool)] = category_index(world)[obj.label_id]
    assert (values == expected).all() and set(np.unique(values)) == {0, 1, 2, 3}
    assert colours[1] == (*voc_colormap(1), 255) and colours[3] == (*voc_colormap(3), 255)
    assert [tags[f"LABEL_{index}"] for index in range(4)] == ["background", "car", "tree", "building"]
    assert files["labels.txt"] == b"background\ncar\ntree\nbuilding\n"


def test_geojson_vertices_are_the_pixel_corners_through_the_source_transform(world: World, scene) -> None:
    document = json.loads(exported(world)["geojson/scene.geojson"])
    assert document["crs"] == {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::32633"}}
    assert CRS.from_wkt(document["crs_wkt"]) == CRS.from_string(UTM33)
    objects = list(AnnotationObject.objects.filter(image=scene).order_by("id"))
    assert [f["properties"]["number"] for f in document["features"]] == [obj.number for obj in objects]
    assert [f["properties"]["label"] for f in document["features"]] == ["tree", "car", "tree", "building"]
    kinds = ["MultiPolygon", "Polygon", "MultiPolygon", "Polygon"]
    assert [f["geometry"]["type"] for f in document["features"]] == kinds
    for feature, obj in zip(document["features"], objects, strict=True):
        stored = rle_to_mask(obj.mask_rle).astype(bool)
        assert feature["properties"]["area_px"] == stored.sum()
        assert feature["properties"]["label_index"] == category_index(world)[obj.label_id]
        # Each ring's vertices are exactly transform @ (x, y) of a ring of the object's pixel-edge outline.
        expected = {frozenset(TRANSFORM @ (x, y) for x, y in zip(r.points[0::2], r.points[1::2], strict=True))
                    for r in object_rings(obj.mask_rle)}  # fmt: skip
        assert {frozenset(map(tuple, ring)) for ring in rings_of(feature["geometry"])} == expected
        # Rasterised with the source's transform, the polygons are the stored mask again.
        assert (rasterize([feature["geometry"]], out_shape=(H, W), transform=TRANSFORM) == stored).all()
        polygons = feature["geometry"]["coordinates"]
        for polygon in polygons if feature["geometry"]["type"] == "MultiPolygon" else [polygons]:
            assert signed_area(polygon[0]) > 0 and all(signed_area(hole) < 0 for hole in polygon[1:])  # RFC 7946


def test_the_wgs84_geojson_is_pyproj_s_transformation_of_the_source_crs_vertices(world: World, scene) -> None:
    files = exported(world)
    utm, wgs84 = json.loads(files["geojson/scene.geojson"]), json.loads(files["geojson_wgs84/scene.geojson"])
    assert "crs" not in wgs84 and "crs_wkt" not in wgs84  # RFC 7946: WGS84 longitude, latitude
    to_wgs84 = Transformer.from_crs(32633, 4326, always_xy=True)
    for projected, geographic in zip(utm["features"], wgs84["features"], strict=True):
        assert projected["properties"] == geographic["properties"]
        rings = zip(rings_of(projected["geometry"]), rings_of(geographic["geometry"]), strict=True)
        for utm_ring, lonlat_ring in rings:
            lonlat = np.asarray(lonlat_ring)
            xs, ys = np.asarray(utm_ring).T
            lon, lat = to_wgs84.transform(xs, ys)
            if signed_area(lonlat_ring) * signed_area(utm_ring) < 0:  # the same vertices, maybe walked the other way
                lonlat = lonlat[::-1]
            assert np.allclose(lonlat, np.stack([lon, lat], axis=1), rtol=0, atol=1e-9)  # 1e-9° ≈ 0.1 mm
            assert lon.min() > 16.3 and lon.max() < 16.4 and lat.min() > 48.2 and lat.max() < 48.4  # by Vienna


def test_a_rotated_transform_and_another_crs_are_kept_exactly(world: World, tmp_path: Path) -> None:
    path = write_geotiff(tmp_path / "r.tif", sentinel_like(H, W, 5), crs="EPSG:25832", transform=ROTATED, nodata=0)
    image = geotiff_image(world.project, path, "rotated.tif")
    mask = holed()
    obj = object_create_from_mask(image=image, author=world.users["manager"], label_id=world.label.pk, mask=mask)
    files = exported(world)
    with MemoryFile(files["masks/rotated.tif"]) as memory, memory.open() as written:
        assert written.crs == CRS.from_epsg(25832) and written.transform == ROTATED
        assert (written.read(1) == mask).all()
    (feature,) = json.loads(files["geojson/rotated.geojson"])["features"]
    corners = {(x, y) for ring in object_rings(obj.mask_rle) for x, y in zip(ring.points[0::2], ring.points[1::2], strict=True)}  # fmt: skip
    assert {tuple(point) for ring in rings_of(feature["geometry"]) for point in ring} == {ROTATED @ c for c in corners}
    assert (rasterize([feature["geometry"]], out_shape=(H, W), transform=ROTATED) == mask).all()
    manifest = json.loads(files["georeferencing.json"])
    entry = next(entry for entry in manifest["images"] if entry["file"] == "rotated.tif")
    assert entry["epsg"] == 25832 and entry["transform"] == list(ROTATED)[:6] and entry["mask"] == "masks/rotated.tif"


def test_polygons_rasterise_back_to_random_masks_exactly() -> None:
    """Speckle (pixels touching diagonally, holes, islands) at several densities."""
    rng = np.random.default_rng(21)
    for density in (0.02, 0.3, 0.5, 0.7, 0.97):
        mask = rng.random((37, 41)) < density
        shapes = [{"type": "Polygon", "coordinates": [ring.tolist() for ring in polygon]}
                  for polygon in pixel_polygons(mask_to_rle(mask))]  # fmt: skip
        assert (rasterize(shapes, out_shape=mask.shape, transform=Affine.identity()) == mask).all()
        corners = {tuple(point) for shape in shapes for ring in shape["coordinates"] for point in ring}
        assert all(float(x).is_integer() and float(y).is_integer() for x, y in corners)


def test_photos_are_left_out_and_listed(world: World, scene) -> None:
    files = exported(world)
    manifest = json.loads(files["georeferencing.json"])
    assert manifest["left_out"] == [{"file": name, "reason": "not a GeoTIFF"} for name in ("a.png", "b.png")]
    assert [entry["file"] for entry in manifest["images"]] == ["scene.tif"]
    assert manifest["images"][0]["geojson_wgs84"] == "geojson_wgs84/scene.geojson"
    assert not any(name.startswith(("masks/a", "geojson/a")) for name in files)


def test_an_image_without_objects_gets_an_empty_mask_and_collection(world: World, tmp_path: Path) -> None:
    geotiff_image(world.project, write_geotiff(tmp_path / "e.tif", sentinel_like(H, W, 4)), "empty.tif")
    files = exported(world)
    with MemoryFile(files["masks/empty.tif"]) as memory, memory.open() as written:
        assert not written.read(1).any() and written.transform == TRANSFORM
    assert json.loads(files["geojson/empty.geojson"])["features"] == []


def test_past_255_labels_the_mask_is_16_bit(world: World, scene) -> None:
    for number in range(253):
        label_create(project=world.project, name=f"class {number}", color="#123456")
    last = world.project.labels.order_by("order", "id").last()
    object_create_from_mask(image=scene, author=world.users["manager"], label_id=last.pk, mask=box(40, 40, 45, 45))
    with MemoryFile(exported(world)["masks/scene.tif"]) as memory, memory.open() as written:
        values = written.read(1)
        assert written.dtypes == ("uint16",) and written.transform == TRANSFORM
    assert (values[40:45, 40:45] == 256).all()


def test_the_archive_holds_the_format_s_files(world: World, scene, tmp_path: Path) -> None:
    from backend.exports.archive import write_archive

    write_archive(
        contents_for(FORMATS["geotiff"], project=world.project, images=Image.objects.filter(project=world.project)),
        FORMATS["geotiff"],
        include_images=False,
        destination=tmp_path / "export.zip",
    )
    with zipfile.ZipFile(tmp_path / "export.zip") as archive:
        names = set(archive.namelist())
        mask = archive.read("masks/scene.tif")
    expected = {"masks/scene.tif", "geojson/scene.geojson", "geojson_wgs84/scene.geojson", "labels.txt",
                "georeferencing.json", "images/"}  # fmt: skip
    assert names == expected
    with rasterio.open(io.BytesIO(mask)) as written:
        assert written.crs == CRS.from_string(UTM33) and written.transform == TRANSFORM


def test_a_geotiff_placed_by_ground_control_points_gets_them_on_its_mask(world: World, tmp_path: Path) -> None:
    from rasterio.control import GroundControlPoint
    from rasterio.errors import NotGeoreferencedWarning

    path = tmp_path / "gcps.tif"
    corners = [(0, 0), (0, W), (H, 0), (H, W)]
    gcps = [GroundControlPoint(row, col, 600000.0 + 10 * col, 5350000.0 - 10 * row) for row, col in corners]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)  # no transform: the points are set next
        with rasterio.open(path, "w", driver="GTiff", width=W, height=H, count=4, dtype="uint16") as dataset:
            dataset.write(sentinel_like(H, W, 4))
            dataset.gcps = (gcps, CRS.from_string(UTM33))
    image = geotiff_image(world.project, path, "gcps.tif")
    assert image.meta["gcps"] == 4 and image.meta["transform"] is None
    object_create_from_mask(image=image, author=world.users["manager"], label_id=world.label.pk, mask=holed())
    files = exported(world)
    with MemoryFile(files["masks/gcps.tif"]) as memory, memory.open() as written:
        written_gcps, gcps_crs = written.gcps
        assert gcps_crs == CRS.from_string(UTM33) and (written.read(1) == holed()).all()
    assert [(g.row, g.col, g.x, g.y) for g in written_gcps] == [(g.row, g.col, g.x, g.y) for g in gcps]
    assert "geojson/gcps.geojson" not in files  # no affine transform: no exact polygon coordinates
    entry = next(entry for entry in json.loads(files["georeferencing.json"])["images"] if entry["file"] == "gcps.tif")
    assert (entry["gcps"], entry["geojson"], entry["transform"]) == (4, None, None)


@pytest.mark.parametrize(
    ("fmt", "entry"),
    [
        ("coco", "annotations/instances_default.json"),
        ("voc", "SegmentationObject/scene.png"),
        ("masks", "masks/scene.png"),
        ("labelme", "images/scene.json"),
        ("yolo", "labels/scene.txt"),
    ],
)
def test_the_other_formats_export_the_objects_of_geotiff_images(world: World, scene, tmp_path, fmt, entry) -> None:
    """Their annotation files (the image files of sources are the rendering's business: ``images=False`` here)."""
    from backend.exports.archive import write_archive

    contents = contents_for(FORMATS[fmt], project=world.project, images=Image.objects.filter(pk=scene.pk))
    write_archive(contents, FORMATS[fmt], include_images=False, destination=tmp_path / "export.zip")
    with zipfile.ZipFile(tmp_path / "export.zip") as archive:
        data = archive.read(entry)
    if fmt == "coco":
        assert len(json.loads(data)["annotations"]) == 4
    elif fmt == "labelme":
        assert {shape["group_id"] for shape in json.loads(data)["shapes"]} == {1, 2, 3, 4}
    elif fmt == "yolo":
        assert len(data.splitlines()) >= 4
    else:
        assert data.startswith(b"\x89PNG")
