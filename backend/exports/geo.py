"""Georeferenced exports of GeoTIFF images: a label-mask GeoTIFF and GeoJSON polygons, in the source's CRS and in
WGS84, that GIS tools (QGIS, GDAL, rasterio, geopandas) open in place over the source imagery.

Per GeoTIFF image (``kind == "geotiff"``), named after its stem:

- ``masks/<stem>.tif`` — one band, the source's size, CRS and geotransform (and ground control points, if the
  source has those instead), deflate-compressed: pixel = the label's index in the project's label order, from 1,
  0 = background (the ``masks`` format's values and overlap rule: a later object over an earlier one); uint8 with
  the Pascal VOC colour table, uint16 past 255 labels; tags ``LABEL_<index>=<name>``.
- ``geojson/<stem>.geojson`` — a FeatureCollection of the objects in the source's CRS: one feature per object
  (creation order), a Polygon or MultiPolygon (holes included) whose vertices are pixel *corners* — the
  pixel-edge outline of the stored mask (pixel (c, r) covers [c, c+1) × [r, r+1)) — mapped exactly through the
  source's affine transform: corner (c, r) → (a·c + b·r + c₀, d·c + e·r + f₀). Properties ``number`` (the
  object's number on its image), ``label``, ``label_index`` (its mask value) and ``area_px``. The CRS is named
  by the legacy ``crs`` member (``urn:ogc:def:crs:EPSG::<code>``, which GDAL and QGIS read) when it has an EPSG
  code, and always given as WKT in the foreign member ``crs_wkt``. Rings follow RFC 7946's orientation (exterior
  counter-clockwise, holes clockwise, in the CRS's x/y).
- ``geojson_wgs84/<stem>.geojson`` — the same features transformed to WGS84 longitude/latitude (RFC 7946;
  ``rasterio.warp.transform_geom``: each vertex transformed, edges not densified — a pixel's edge is short —
  and a polygon crossing the antimeridian cut there, as RFC 7946 asks).
  Written only when the source has a CRS.

Besides: ``labels.txt`` (line i names index i, line 0 ``background``) and ``georeferencing.json`` (per image: its
files, CRS, transform and size; and the images left out — not GeoTIFFs, or without a geotransform, whose
GeoJSON is not written). The CRS and transform are read from the stored source file itself, not from
``Image.meta``, so the mask carries exactly what GDAL reads from the source.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np

from backend.annotations.models import AnnotationObject
from backend.exports.contents import ExportContents
from backend.exports.masks import labels_text
from backend.exports.rings import object_runs, painted
from backend.exports.stored_crops import stored_crop
from backend.exports.voc_labels import voc_colormap
from backend.images.models import Image

IMAGES_DIR = "images"
MASKS_DIR = "masks"
GEOJSON_DIR = "geojson"
WGS84_DIR = "geojson_wgs84"
MANIFEST_PATH = "georeferencing.json"
WGS84 = "EPSG:4326"
TILED_PIXELS = 1 << 20  # masks of more pixels are written in 256×256 tiles (GIS tools read windows of them)


@dataclass(frozen=True)
class Georeferencing:
    crs: Any  # rasterio CRS or None
    transform: Any  # affine.Affine (identity when the source has none)
    gcps: list  # ground control points, when the source is georeferenced by those instead of a transform
    gcps_crs: Any

    @property
    def has_transform(self) -> bool:
        return not self.transform.is_identity


@contextmanager
def _gdal() -> Iterator[None]:
    import rasterio

    with rasterio.Env(GDAL_DISABLE_READDIR_ON_OPEN="EMPTY_DIR", GDAL_PAM_ENABLED="NO"):
        yield


def georeferencing(image: Image) -> Georeferencing:
    """The CRS, transform and ground control points of the stored GeoTIFF of ``image``, as GDAL reads them."""
    import rasterio

    with _gdal(), rasterio.open(image.file.path, driver="GTiff") as dataset:
        gcps, gcps_crs = dataset.gcps
        return Georeferencing(dataset.crs, dataset.transform, list(gcps), gcps_crs)


# Geometry


def _ring_area(ring: np.ndarray) -> float:
    """Twice the signed area of a closed ring (first point repeated last): positive counter-clockwise (x right,
    y up)."""
    x, y = ring[:, 0], ring[:, 1]
    return float((x[:-1] * y[1:] - x[1:] * y[:-1]).sum())


def pixel_polygons(mask_rle: dict) -> list[list[np.ndarray]]:
    """The stored mask's 4-connected parts as polygons of pixel-corner rings (``(n, 2)`` float arrays of whole
    numbers, closed), each its exterior ring then its holes; GDAL's polygonize of the mask's bounding box."""
    from rasterio.features import shapes

    crop, x0, y0 = stored_crop(mask_rle)
    if crop.size == 0:
        return []
    offset = np.array([x0, y0], dtype=np.float64)
    polygons = []
    for geometry, _ in shapes(crop.astype(np.uint8), mask=crop, connectivity=4):
        polygons.append([np.asarray(ring, dtype=np.float64) + offset for ring in geometry["coordinates"]])
    return polygons


def mapped(points: np.ndarray, transform: Any) -> np.ndarray:
    """Pixel corners (col, row) mapped through the affine transform, as ``affine.Affine @ (col, row)`` computes
    them (the same operations in the same order: the same floats; ``@`` in affine 3)."""
    a, b, c, d, e, f = (float(v) for v in list(transform)[:6])
    cols, rows = points[:, 0], points[:, 1]
    return np.stack([cols * a + rows * b + c, cols * d + rows * e + f], axis=1)


def _oriented(ring: np.ndarray, exterior: bool) -> np.ndarray:
    """RFC 7946: exterior rings counter-clockwise, holes clockwise."""
    counter_clockwise = _ring_area(ring) > 0
    return ring if counter_clockwise == exterior else ring[::-1]


def geometry(polygons: list[list[np.ndarray]], transform: Any) -> dict[str, Any] | None:
    """A GeoJSON Polygon (one part) or MultiPolygon of pixel polygons mapped through ``transform``."""
    parts = [
        [_oriented(mapped(ring, transform), index == 0).tolist() for index, ring in enumerate(polygon)]
        for polygon in polygons
    ]
    if not parts:
        return None
    if len(parts) == 1:
        return {"type": "Polygon", "coordinates": parts[0]}
    return {"type": "MultiPolygon", "coordinates": parts}


def to_wgs84(geometry: dict[str, Any], crs: Any) -> dict[str, Any]:
    """``geometry`` (in ``crs``) in WGS84 longitude/latitude, vertex by vertex, rings oriented as RFC 7946 says."""
    from rasterio.warp import transform_geom

    moved = transform_geom(crs, WGS84, geometry)
    polygons = [moved["coordinates"]] if moved["type"] == "Polygon" else moved["coordinates"]
    parts = [
        [_oriented(np.asarray(ring, dtype=np.float64), index == 0).tolist() for index, ring in enumerate(polygon)]
        for polygon in polygons
    ]
    if moved["type"] == "Polygon":
        return {"type": "Polygon", "coordinates": parts[0]}
    return {"type": "MultiPolygon", "coordinates": parts}


def crs_member(crs: Any) -> dict[str, Any] | None:
    """GeoJSON 2008's ``crs`` member naming ``crs`` by its EPSG code (GDAL/QGIS read it), or None."""
    epsg = crs.to_epsg() if crs is not None else None
    if epsg is None:
        return None
    name = "urn:ogc:def:crs:OGC:1.3:CRS84" if epsg == 4326 else f"urn:ogc:def:crs:EPSG::{epsg}"
    return {"type": "name", "properties": {"name": name}}


def feature_collection(name: str, features: list[dict[str, Any]], crs: Any, *, wgs84: bool) -> bytes:
    document: dict[str, Any] = {"type": "FeatureCollection", "name": name}
    if not wgs84 and (member := crs_member(crs)) is not None:
        document["crs"] = member
    if not wgs84 and crs is not None:
        document["crs_wkt"] = crs.to_wkt()
    document["features"] = features
    return json.dumps(document, ensure_ascii=False).encode()


# Masks


def mask_geotiff(indices: np.ndarray, geo: Georeferencing, label_names: list[str]) -> bytes:
    """A one-band GeoTIFF of the label map with the source's georeferencing."""
    from rasterio.errors import NotGeoreferencedWarning
    from rasterio.io import MemoryFile

    height, width = indices.shape
    profile: dict[str, Any] = {
        "driver": "GTiff",
        "width": width,
        "height": height,
        "count": 1,
        "dtype": str(indices.dtype),
        "compress": "deflate",
    }
    if geo.has_transform or not geo.gcps:
        profile |= {"crs": geo.crs, "transform": geo.transform}
    if width * height > TILED_PIXELS:
        profile |= {"tiled": True, "blockxsize": 256, "blockysize": 256}
    with _gdal(), MemoryFile() as memory, warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)  # placed by its ground control points instead
        with memory.open(**profile) as dataset:
            dataset.write(indices, 1)
            dataset.set_band_description(1, "label")
            dataset.update_tags(**{f"LABEL_{index}": name for index, name in enumerate(label_names)})
            if indices.dtype == np.uint8:
                dataset.write_colormap(1, {index: (*voc_colormap(index), 255) for index in range(256)})
            if geo.gcps and not geo.has_transform:
                dataset.gcps = (geo.gcps, geo.gcps_crs)
        return memory.read()


# The format


@dataclass(frozen=True)
class _Object:
    number: int
    label_id: int
    mask_rle: dict
    area: int  # pixels of the stored mask


def _objects(ids: list[int]) -> dict[int, list[_Object]]:
    found: dict[int, list[_Object]] = {pk: [] for pk in ids}
    rows = AnnotationObject.objects.filter(image_id__in=ids).order_by("image_id", "id")
    for image_id, *fields in rows.values_list("image_id", "number", "label_id", "mask_rle", "area"):
        found[image_id].append(_Object(*fields))
    return found


def geo_files(contents: ExportContents) -> Iterator[tuple[str, bytes]]:
    """(path in the archive, bytes) of everything but the image files, one image at a time."""
    label_names = ["background", *(label.name for label in contents.labels)]
    names = contents.images.file_names()
    manifest: dict[str, list] = {"images": [], "left_out": []}
    done = 0
    for ids in contents.images.id_chunks():
        chunk_names, done = names[done : done + len(ids)], done + len(ids)
        images = Image.objects.filter(pk__in=ids).only("id", "project_id", "kind", "file", "width", "height")
        by_id = {image.pk: image for image in images}
        objects = _objects(ids)
        for pk, file_name in zip(ids, chunk_names, strict=True):
            image = by_id.get(pk)
            if image is None:  # deleted meanwhile
                continue
            if image.kind != "geotiff":
                manifest["left_out"].append({"file": file_name, "reason": "not a GeoTIFF"})
                continue
            yield from _image_entries(contents, image, file_name, objects[pk], label_names, manifest)
    yield "labels.txt", labels_text(contents).encode()
    yield MANIFEST_PATH, json.dumps(manifest, ensure_ascii=False, indent=1).encode()


def _image_entries(
    contents: ExportContents,
    image: Image,
    file_name: str,
    objects: list[_Object],
    label_names: list[str],
    manifest: dict[str, list],
) -> Iterator[tuple[str, bytes]]:
    from pathlib import PurePosixPath

    stem = PurePosixPath(file_name).stem
    geo = georeferencing(image)
    dtype = np.uint8 if len(contents.labels) <= 255 else np.uint16
    values = [contents.category_of(obj.label_id) for obj in objects]
    indices = painted(object_runs([obj.mask_rle for obj in objects]), values, image.height, image.width, dtype)
    entry: dict[str, Any] = {
        "file": file_name,
        "width": image.width,
        "height": image.height,
        "crs_wkt": geo.crs.to_wkt() if geo.crs is not None else None,
        "epsg": geo.crs.to_epsg() if geo.crs is not None else None,
        "transform": list(geo.transform)[:6] if geo.has_transform else None,
        "mask": f"{MASKS_DIR}/{stem}.tif",
    }
    if geo.gcps and not geo.has_transform:
        entry |= {"gcps": len(geo.gcps), "gcps_crs_wkt": geo.gcps_crs.to_wkt() if geo.gcps_crs is not None else None}
    yield entry["mask"], mask_geotiff(indices, geo, label_names)
    if not geo.has_transform:
        entry["geojson"] = None
        manifest["images"].append(entry)
        return
    features, wgs84_features = [], []
    for obj, value in zip(objects, values, strict=True):
        shape = geometry(pixel_polygons(obj.mask_rle), geo.transform)
        if shape is None:
            continue
        properties = {"number": obj.number, "label": label_names[value], "label_index": value,
                      "area_px": obj.area}  # fmt: skip
        features.append({"type": "Feature", "properties": properties, "geometry": shape})
        if geo.crs is not None:
            wgs84_features.append({"type": "Feature", "properties": properties, "geometry": to_wgs84(shape, geo.crs)})
    entry["geojson"] = f"{GEOJSON_DIR}/{stem}.geojson"
    yield entry["geojson"], feature_collection(stem, features, geo.crs, wgs84=False)
    if geo.crs is not None:
        entry["geojson_wgs84"] = f"{WGS84_DIR}/{stem}.geojson"
        yield entry["geojson_wgs84"], feature_collection(stem, wgs84_features, geo.crs, wgs84=True)
    manifest["images"].append(entry)
