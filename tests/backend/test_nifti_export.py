"""The NIfTI label-volume export reopened with nibabel: the source's affine and shape, and each voxel the label of
the object drawn over it on its slice — found through what the annotator saw (a marker voxel located in the
rendered slice), so the screen layout and its inverse are checked end to end, for NIfTI and DICOM series."""

import gzip
import json
import zipfile
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from backend.annotations.models import AnnotationObject
from backend.annotations.services import object_create_from_mask
from backend.exports.formats import FORMATS, contents_for
from backend.exports.nifti_labels import nifti_label_files
from backend.images.models import Image
from backend.images.sources import open_source
from backend.images.sources.dicom_series import group_series
from backend.projects.services import label_create
from tests.exporting import exported_archive
from tests.medical_volumes import ct_instance, mr_volume, nifti_file, staged, stored_image, write_instance

MARKER = 30000  # a value no other voxel has


def entries_of(contents) -> dict[str, bytes]:
    return {path: data if isinstance(data, bytes) else b"".join(data) for path, data in nifti_label_files(contents)}


def volume_of(data: bytes) -> nib.Nifti1Image:
    return nib.Nifti1Image.from_bytes(gzip.decompress(data))


def draw(image: Image, author, label, k: int, mask: np.ndarray) -> AnnotationObject:
    obj = object_create_from_mask(image=image, author=author, label_id=label.pk, mask=mask)
    AnnotationObject.objects.filter(pk=obj.pk).update(slice=k)
    return obj


def marker_pixel(image: Image, k: int) -> tuple[int, int]:
    """Where the marker voxel shows on slice ``k``: (row, column) of the rendering's samples."""
    shown = open_source(Path(image.file.path), image.original_name).read_slice(k)
    (row,), (column,) = np.nonzero(shown == shown.max())
    return int(row), int(column)


@pytest.fixture
def nifti_image(world, tmp_path):
    data = mr_volume((40, 30, 6))
    data[7, 21, 4] = MARKER  # voxel (i=7, j=21) of slice 4
    path = tmp_path / "head.nii"
    source = nifti_file(path, data)
    return stored_image(world.project, path, "head.nii", uploaded_by=world.users["manager"]), source


def test_label_volume_has_the_source_affine_shape_and_objects(world, nifti_image):
    image, source = nifti_image
    annotator = world.users["annotator"]
    third = label_create(project=world.project, name="lesion", color="#0000ff")
    # slice 4: a block (car = 1), then over part of it a block of tree (2), then the marker pixel as lesion (3)
    block = np.zeros((30, 40), bool)
    block[2:12, 5:25] = True
    over = np.zeros((30, 40), bool)
    over[8:20, 20:30] = True
    draw(image, annotator, world.label, 4, block)
    draw(image, annotator, world.spare_label, 4, over)
    row, column = marker_pixel(image, 4)
    speck = np.zeros((30, 40), bool)
    speck[row, column] = True
    draw(image, annotator, third, 4, speck)
    # slice 0: one object of tree
    corner = np.zeros((30, 40), bool)
    corner[0:3, 0:4] = True
    draw(image, annotator, world.spare_label, 0, corner)

    contents = contents_for(FORMATS["nifti"], project=world.project, images=Image.objects.filter(project=world.project))
    entries = entries_of(contents)
    labels = volume_of(entries["labels/head.nii.gz"])
    assert labels.shape == source.shape == (40, 30, 6)
    assert np.array_equal(labels.affine, source.affine)
    assert labels.get_data_dtype() == np.uint8
    voxels = np.asarray(labels.dataobj)
    assert voxels[7, 21, 4] == 3  # the marker voxel got the label of the pixel drawn over it
    # the rest independently: screen (row r, column c) is voxel (i = c, j = 29 - r)
    expected = np.zeros((40, 30, 6), np.uint8)
    for k, mask, value in [(4, block, 1), (4, over, 2), (4, speck, 3), (0, corner, 2)]:
        rows, columns = np.nonzero(mask)
        expected[columns, 29 - rows, k] = value
    assert np.array_equal(voxels, expected)
    legend = json.loads(entries["labels.json"])
    assert [(entry["value"], entry["name"]) for entry in legend["labels"]] == [(1, "car"), (2, "tree"), (3, "lesion")]
    (volume,) = legend["volumes"]
    assert volume["image"] == "head.nii" and volume["shape"] == [40, 30, 6] and volume["slices_annotated"] == 2
    assert {entry["image"] for entry in legend["skipped"]} == {"a.png", "b.png"}


def test_dicom_series_label_volume_lands_at_the_instances_positions(world, tmp_path):
    orientation = [0.0, 0.8, 0.6, 0.0, 0.6, -0.8]
    uid, files = "1.2.826.0.1.3680043.8.498.77", []
    for k in range(4):
        pixels = np.full((12, 16), 1000, np.uint16)
        if k == 2:
            pixels[9, 3] = 4000  # the marker: row 9, column 3 of the instance at the third position
        ds = ct_instance(
            rows=12, columns=16, position=[5.0 - 2.0 * k, 1.0, 2.0], orientation=orientation, spacing=[0.5, 0.75],
            number=10 - k, series_uid=uid, pixels=pixels,
        )  # fmt: skip
        files.append(staged(write_instance(ds, tmp_path / f"i{k}.dcm"), f"chest/i{k}.dcm"))
    (series,) = group_series([files[3], files[1], files[0], files[2]], tmp_path)
    image = stored_image(world.project, series.path, series.name)
    row, column = marker_pixel(image, 2)
    assert (row, column) == (9, 3)
    speck = np.zeros((12, 16), bool)
    speck[row, column] = True
    draw(image, world.users["annotator"], world.label, 2, speck)

    contents = contents_for(FORMATS["nifti"], project=world.project, images=Image.objects.filter(pk=image.pk))
    labels = volume_of(entries_of(contents)["labels/chest_series3.nii.gz"])
    assert labels.shape == (16, 12, 4)
    assert np.allclose(labels.affine, image.meta["affine"], atol=1e-5)
    (i,), (j,), (k,) = np.nonzero(np.asarray(labels.dataobj))
    # the labelled voxel's world position is the marker pixel's patient position (DICOM LPS, x and y negated)
    lps = (
        np.array([5.0 - 2.0 * 2, 1.0, 2.0]) + 3 * 0.75 * np.array(orientation[:3]) + 9 * 0.5 * np.array(orientation[3:])
    )
    assert np.allclose(labels.affine @ [i, j, k, 1], [-lps[0], -lps[1], lps[2], 1], atol=1e-4)


def test_many_labels_make_int16_voxels(world, nifti_image):
    image, _ = nifti_image
    labels = [label_create(project=world.project, name=f"l{n}", color="#123456") for n in range(300)]
    mask = np.zeros((30, 40), bool)
    mask[5, 6] = True
    draw(image, world.users["annotator"], labels[-1], 1, mask)
    contents = contents_for(FORMATS["nifti"], project=world.project, images=Image.objects.filter(pk=image.pk))
    volume = volume_of(entries_of(contents)["labels/head.nii.gz"])
    assert volume.get_data_dtype() == np.int16
    assert np.asarray(volume.dataobj)[6, 29 - 5, 1] == 302  # car, tree, then l0..l299


def test_the_format_is_offered_and_exported_through_the_api(world, nifti_image):
    assert "nifti" in FORMATS
    archive = exported_archive(world, format="nifti", images=False)
    names = archive.namelist()
    assert "labels/head.nii.gz" in names and "labels.json" in names
    assert volume_of(archive.read("labels/head.nii.gz")).shape == (40, 30, 6)


def test_archive_ships_the_sources_and_series_without_identity(world, nifti_image, tmp_path):
    files = []
    for k in range(2):
        ds = ct_instance(
            rows=8, columns=8, position=[0.0, 0.0, 3.0 * k], orientation=[1, 0, 0, 0, 1, 0], spacing=[1, 1],
            number=k + 1, series_uid="1.2.3.99", pixels=np.full((8, 8), 1000 + k, np.uint16),
        )  # fmt: skip
        files.append(staged(write_instance(ds, tmp_path / f"p{k}.dcm"), f"pelvis/p{k}.dcm"))
    (series,) = group_series(files, tmp_path)
    with zipfile.ZipFile(series.path) as stored:
        assert b"Doe^Jane" in b"".join(stored.read(name) for name in stored.namelist())
    stored_image(world.project, series.path, series.name)
    archive = exported_archive(world, format="nifti", images=True)
    names = set(archive.namelist())
    assert {
        "images/head.nii",
        "images/pelvis_series3.zip",
        "labels/head.nii.gz",
        "labels/pelvis_series3.nii.gz",
    } <= names
    shipped = tmp_path / "shipped.zip"
    shipped.write_bytes(archive.read("images/pelvis_series3.zip"))
    with zipfile.ZipFile(shipped) as inner:
        assert b"Doe^Jane" not in b"".join(inner.read(name) for name in inner.namelist())
    assert open_source(shipped, "x").read_slice(1)[0, 0] == 1001 - 1024
