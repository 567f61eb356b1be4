"""NIfTI label volumes: one ``labels/<stem>.nii.gz`` per stack image (a NIfTI volume or a DICOM series or file),
for medical pipelines (nnU-Net, MONAI, ITK-SNAP, 3D Slicer).

Each volume has the source's shape and affine (the NIfTI header's own, or the DICOM one from
ImagePositionPatient/ImageOrientationPatient/PixelSpacing, in RAS+ mm), so it overlays the source in any viewer.
Voxel ``(i, j, k)`` holds the label value of the object covering it on slice ``k`` — the label's index in the
project's label order, from 1, 0 = background; the later object over the earlier where they overlap, as in the
label masks — after the exact inverse of the screen layout (:mod:`backend.images.sources.volumes`). Voxels are
uint8, or int16 past 255 labels.

``labels.json`` is the legend: the label values with names and colours, and each volume with its image, shape,
the source of its affine (``uniform_spacing: false`` for a DICOM series of uneven gaps, whose affine has their
mean); images that are not stacks (photos, GeoTIFFs…) are listed as skipped.

Memory stays at one slice: the volume is written as a gzip stream slice by slice (a NIfTI volume's slice ``k`` is
one contiguous run of its voxels).
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterator
from typing import Any

import numpy as np

from backend.annotations.models import AnnotationObject
from backend.exports.contents import ExportContents
from backend.exports.rings import object_runs, painted_images
from backend.images.models import Image
from backend.images.sources.volumes import rows_reversed, voxels_of_display

IMAGES_DIR = "images"
LABELS_DIR = "labels"
LEGEND_PATH = "labels.json"
VOLUME_KINDS = ("nifti", "dicom")
GZIP_LEVEL = 1


def label_dtype(labels: int) -> type:
    return np.uint8 if labels <= 255 else np.int16


def nifti_label_files(contents: ExportContents) -> Iterator[tuple[str, bytes | Iterator[bytes]]]:
    dtype = label_dtype(len(contents.labels))
    volumes, skipped = [], []
    names = contents.images.file_names()
    done = 0
    for ids in contents.images.id_chunks():
        chunk_names, done = names[done : done + len(ids)], done + len(ids)
        rows = {row[0]: row for row in Image.objects.filter(pk__in=ids).values_list(*IMAGE_FIELDS)}
        for pk, file_name in zip(ids, chunk_names, strict=True):
            if pk not in rows:
                continue  # deleted meanwhile
            image = dict(zip(IMAGE_FIELDS, rows[pk], strict=True))
            if image["kind"] not in VOLUME_KINDS:
                skipped.append({"image": file_name, "reason": f"not a volume (kind {image['kind']})"})
                continue
            path = f"{LABELS_DIR}/{_stem(file_name)}.nii.gz"
            grid = volume_grid(image)
            volumes.append(
                {
                    "file": path,
                    "image": file_name,
                    "shape": grid["shape"],
                    "affine": grid["affine"],
                    "affine_from": grid["affine_from"],
                    "slices_annotated": _annotated_slices(pk),
                }
                | ({"uniform_spacing": False} if (image["meta"] or {}).get("uniform_spacing") is False else {})
            )
            yield path, _volume_stream(contents, pk, image, grid, dtype)
    legend = {
        "format": "edgeflow-nifti-labels",
        "version": 1,
        "background": 0,
        "data_type": np.dtype(dtype).name,
        "labels": [
            {"value": index, "name": label.name, "color": label.color}
            for index, label in enumerate(contents.labels, start=1)
        ],
        "volumes": volumes,
        "skipped": skipped,
    }
    yield LEGEND_PATH, json.dumps(legend, indent=1).encode()


IMAGE_FIELDS = ("id", "kind", "width", "height", "slice_count", "meta")


def _stem(file_name: str) -> str:
    stem = file_name.rsplit("/", 1)[-1]
    for suffix in (".nii.gz", ".nii", ".zip", ".dcm"):
        if stem.lower().endswith(suffix) and len(stem) > len(suffix):
            return stem[: -len(suffix)]
    return stem.rsplit(".", 1)[0] if "." in stem.strip(".") else stem


def _annotated_slices(image_id: int) -> int:
    return AnnotationObject.objects.filter(image_id=image_id).values("slice").distinct().count()


def volume_grid(image: dict[str, Any]) -> dict[str, Any]:
    """Shape, affine and header codes of the label volume of ``image`` (a dict of ``IMAGE_FIELDS``)."""
    meta = image["meta"] or {}
    width, height, slices = image["width"], image["height"], image["slice_count"]
    affine = meta.get("affine")
    affine_from = meta.get("affine_from", "NIfTI header" if image["kind"] == "nifti" else "")
    if affine is None:
        affine, affine_from = _dicom_affine(meta)
    spacing = meta.get("spacing") or [float(np.linalg.norm(np.asarray(affine)[:3, axis])) for axis in range(3)]
    return {
        "shape": [width, height, slices],
        "affine": affine,
        "affine_from": affine_from,
        "spacing": spacing,
        "reversed_rows": rows_reversed(meta),
        "qform_code": int(meta.get("qform_code", 1)),
        "sform_code": int(meta.get("sform_code", 1)),
        "units": meta.get("units", "mm"),
    }


def _dicom_affine(meta: dict[str, Any]) -> tuple[list[list[float]], str]:
    """A single DICOM file's (or multi-frame's) affine from the public tags it shows, as the series does."""
    from types import SimpleNamespace

    from backend.images.sources.dicom_series import series_geometry

    tags = {
        key: meta[key] for key in ("PixelSpacing", "ImageOrientationPatient", "ImagePositionPatient") if key in meta
    }
    for key in ("SliceThickness", "SpacingBetweenSlices"):
        if key in meta:
            tags[key] = meta[key]
    dataset = SimpleNamespace(Columns=1, Rows=1, **tags)
    geometry = series_geometry(dataset, dataset, 1)
    return geometry["affine"], geometry["affine_from"]


def nifti_header_bytes(shape: list[int], dtype: type, grid: dict[str, Any]) -> bytes:
    """A NIfTI-1 single-file header (with its empty extension flag) for voxels right after it."""
    import nibabel

    header = nibabel.Nifti1Header()
    header.set_data_shape(shape)
    header.set_data_dtype(dtype)
    affine = np.asarray(grid["affine"], dtype=np.float64)
    header.set_qform(affine, code=grid["qform_code"])
    header.set_sform(affine, code=grid["sform_code"])
    header.set_zooms([float(z) for z in grid["spacing"]])
    units = grid["units"] if grid["units"] in ("meter", "mm", "micron") else "unknown"
    header.set_xyzt_units(xyz=units)
    header["vox_offset"] = 352
    header["descrip"] = b"EdgeFlow Studio label volume"
    header["scl_slope"], header["scl_inter"] = 1.0, 0.0
    return header.binaryblock + b"\x00" * 4


def _volume_stream(
    contents: ExportContents, image_id: int, image: dict[str, Any], grid: dict[str, Any], dtype: type
) -> Iterator[bytes]:
    """The gzip bytes of the label volume of an image's objects."""
    slices = image["slice_count"]
    by_slice: dict[int, list[tuple[int, dict]]] = {}
    objects = AnnotationObject.objects.filter(image_id=image_id).order_by("id")
    for index, label_id, mask_rle in objects.values_list("slice", "label_id", "mask_rle"):
        if 0 <= index < slices:
            by_slice.setdefault(index, []).append((contents.category_of(label_id), mask_rle))
    yield from label_volume_gzip(by_slice, grid, dtype, image["height"], image["width"], slices)


def label_volume_gzip(
    by_slice: dict[int, list[tuple[int, dict]]], grid: dict[str, Any], dtype: type, height: int, width: int, slices: int
) -> Iterator[bytes]:
    """The gzip bytes of a NIfTI label volume, slice by slice: ``by_slice[k]`` holds slice ``k``'s objects as
    ``(value, mask_rle)`` in creation order."""
    compressor = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, 31, 9, zlib.Z_RLE)
    yield compressor.compress(nifti_header_bytes(grid["shape"], dtype, grid))
    empty = np.zeros((width, height), dtype=dtype)
    little = np.dtype(dtype).newbyteorder("<")
    for index in range(slices):
        found = by_slice.get(index)
        if not found:
            plane = empty
        else:
            view = slice_labels(found, height, width, dtype)
            plane = voxels_of_display(view, reversed_rows=grid["reversed_rows"])
        # Voxel (i, j) of slice k sits at i + j·ni: the plane [i, j] in Fortran order.
        yield compressor.compress(np.asarray(plane, dtype=little).tobytes(order="F"))
    yield compressor.flush()


def slice_labels(objects: list[tuple[int, dict]], height: int, width: int, dtype: type) -> np.ndarray:
    """The screen-layout label map (rows × columns) of one slice's objects ``(value, mask_rle)``, later over
    earlier, painted from their stored runs as the label masks are."""
    runs = object_runs([mask_rle for _, mask_rle in objects])
    (maps,) = painted_images(runs, [len(objects)], [(height, width)], [[value for value, _ in objects]], dtype)
    return maps[0]
