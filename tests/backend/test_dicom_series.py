"""DICOM series: instances uploaded in any order become one stack in slice order (by position along the slice
normal, by InstanceNumber without positions), stored losslessly as one file; mixed sizes and several images at
one position are refused clearly; the affine maps voxels to where the instances say they are."""

import copy
import io
import random
import zipfile

import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.uid import generate_uid

from backend.common.errors import InvalidInput
from backend.images.sources import open_source
from backend.images.sources.dicom_series import (
    MANIFEST,
    deidentified_series,
    group_series,
    is_series_file,
    open_dicom_series,
)
from tests.medical_volumes import ct_instance, staged, write_instance

OBLIQUE = [0.0, 0.8, 0.6, 0.0, 0.6, -0.8]  # rows along (0, .8, .6), columns along (0, .6, -.8): normal (-1, 0, 0)
ROWS, COLUMNS = 12, 16


def oblique_series(tmp_path, count=5, *, implicit=False, uid=None, folder="ct", sizes=None):
    """Instances of one series, written shuffled; slice k is at -3k mm along x (the normal), InstanceNumber
    counting the other way, so only the positions give the order. Pixel (0, 0) of slice k holds 100 + k."""
    uid = uid or generate_uid()
    files = []
    for k in range(count):
        rows, columns = sizes[k] if sizes else (ROWS, COLUMNS)
        pixels = np.arange(rows * columns, dtype=np.uint16).reshape(rows, columns) + 2000
        pixels[0, 0] = 100 + k
        ds = ct_instance(
            rows=rows,
            columns=columns,
            position=[10.0 - 3.0 * k, -20.0, 30.0],
            orientation=OBLIQUE,
            spacing=[0.5, 0.75],
            number=count - k,
            series_uid=uid,
            pixels=pixels,
            implicit=implicit,
            slope=1.0 if k % 2 else 2.0,  # each instance keeps its own rescale
        )
        files.append(staged(write_instance(ds, tmp_path / f"{uid[-6:]}-{k}.dcm"), f"{folder}/IM{k:03d}.dcm"))
    random.Random(7).shuffle(files)
    return files


@pytest.mark.parametrize("implicit", [False, True])
def test_shuffled_instances_become_one_stack_in_position_order(tmp_path, implicit):
    files = oblique_series(tmp_path, implicit=implicit)
    (series,) = group_series(files, tmp_path)
    assert series.name == "ct_series3.zip"
    assert all(not f.path.exists() for f in files)  # the instances live on in the series file only
    source = open_source(series.path, series.name)
    info = source.info
    assert (info.kind, info.width, info.height, info.slices) == ("dicom", COLUMNS, ROWS, 5)
    for k in range(5):
        shown = source.read_slice(k)
        slope = 1.0 if k % 2 else 2.0
        assert shown.shape == (ROWS, COLUMNS)
        assert shown[0, 0] == (100 + k) * slope - 1024  # slice k, its own rescale applied
    assert info.meta["ordered_by"] == "position"
    assert info.display["mode"] == "window" and len(info.presets) == 4  # CT presets


def test_affine_maps_each_voxel_to_the_patient_position(tmp_path):
    files = oblique_series(tmp_path)
    (series,) = group_series(files, tmp_path)
    meta = open_dicom_series(series.path, series.name).info.meta
    affine = np.asarray(meta["affine"])
    row_dir, column_dir = np.array(OBLIQUE[:3]), np.array(OBLIQUE[3:])
    for i, j, k in [(0, 0, 0), (15, 0, 0), (0, 11, 4), (7, 5, 2)]:
        lps = np.array([10.0 - 3.0 * k, -20.0, 30.0]) + i * 0.75 * row_dir + j * 0.5 * column_dir
        ras = lps * [-1, -1, 1]
        assert np.allclose(affine @ [i, j, k, 1], [*ras, 1])
    assert np.allclose(meta["spacing"], [0.75, 0.5, 3.0])
    assert meta["shape"] == [COLUMNS, ROWS, 5]
    assert meta["voxel_layout"]["rows"] == "+j"
    assert meta["uniform_spacing"] is True and np.allclose(meta["slice_gaps_mm"], [3.0, 3.0])


def test_the_series_file_is_lossless_and_the_same_for_any_upload_order(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = oblique_series(tmp_path / "a")
    originals = {f.name: f.path.read_bytes() for f in first}
    second = []
    for f in reversed(first):
        (tmp_path / "b" / f.path.name).write_bytes(f.path.read_bytes())
        second.append(staged(tmp_path / "b" / f.path.name, f.name))
    (one,) = group_series(first, tmp_path / "a")
    (two,) = group_series(second, tmp_path / "b")
    assert one.sha256 == two.sha256
    with zipfile.ZipFile(one.path) as archive:
        members = [name for name in archive.namelist() if name != MANIFEST]
        kept = [archive.read(name) for name in members]
    by_position = [originals[f"ct/IM{k:03d}.dcm"] for k in range(5)]
    assert kept == by_position  # the instances byte for byte, in slice order


def test_without_positions_instance_numbers_order_the_stack(tmp_path):
    files = oblique_series(tmp_path)
    for f in files:
        ds = pydicom.dcmread(f.path)
        del ds.ImagePositionPatient
        ds.save_as(f.path)
    refreshed = [staged(f.path, f.name) for f in files]
    (series,) = group_series(refreshed, tmp_path)
    source = open_source(series.path, series.name)
    # InstanceNumber runs against the positions: slice 0 is now the last position's instance
    assert [source.read_slice(k)[0, 0] for k in range(5)] == [
        (100 + k) * (1.0 if k % 2 else 2.0) - 1024 for k in reversed(range(5))
    ]
    assert source.info.meta["ordered_by"] == "instance number"
    assert source.info.meta["affine_from"].startswith("PixelSpacing only")


def test_mixed_sizes_are_refused_naming_them(tmp_path):
    sizes = [(ROWS, COLUMNS)] * 4 + [(8, 8)]
    files = oblique_series(tmp_path, sizes=sizes)
    with pytest.raises(InvalidInput) as caught:
        group_series(files, tmp_path)
    message = caught.value.message
    assert caught.value.code == "bad_series"
    assert "not all the same size" in message and "16×12 in 4 file(s)" in message and "8×8 in 1 file(s)" in message


def test_two_images_at_one_position_are_refused(tmp_path):
    files = oblique_series(tmp_path, count=3)
    extra = ct_instance(
        rows=ROWS, columns=COLUMNS, position=[10.0, -20.0, 30.0], orientation=OBLIQUE, spacing=[0.5, 0.75],
        number=9, series_uid=pydicom.dcmread(files[0].path).SeriesInstanceUID,
        pixels=np.ones((ROWS, COLUMNS), np.uint16),
    )  # fmt: skip
    files.append(staged(write_instance(extra, tmp_path / "echo2.dcm"), "ct/echo2.dcm"))
    with pytest.raises(InvalidInput) as caught:
        group_series(files, tmp_path)
    assert "same position" in caught.value.message


def test_other_files_pass_through_and_series_are_kept_apart(tmp_path):
    first = oblique_series(tmp_path, count=3, folder="one")
    second = oblique_series(tmp_path, count=2, folder="two")
    lone = staged(write_instance(pydicom.dcmread(get_testdata_file("CT_small.dcm")), tmp_path / "lone.dcm"), "x.dcm")
    photo = tmp_path / "photo.png"
    photo.write_bytes(b"\x89PNG\r\n\x1a\n not really")
    photo_file = staged(photo, "photo.png")
    (tmp_path / "copy.dcm").write_bytes(first[0].path.read_bytes())
    twice = staged(tmp_path / "copy.dcm", "one/copy.dcm")  # the same instance twice: kept once
    result = group_series([photo_file, *first, lone, twice, *second], tmp_path)
    assert result[0] is photo_file and result[2] is lone
    assert [r.name for r in result] == ["photo.png", "one_series3.zip", "x.dcm", "two_series3.zip"]
    assert open_source(result[1].path, "one").info.slices == 3
    assert open_source(result[3].path, "two").info.slices == 2


def test_pydicom_sample_ct_as_a_series(tmp_path):
    """pydicom's own CT_small.dcm, repositioned into a 4-slice series uploaded out of order."""
    base = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    uid, files = generate_uid(), []
    for k in range(4):
        ds = copy.deepcopy(base)
        ds.SeriesInstanceUID, ds.SOPInstanceUID, ds.InstanceNumber = uid, generate_uid(), k + 1
        position = [float(v) for v in base.ImagePositionPatient]
        ds.ImagePositionPatient = [position[0], position[1], position[2] + 5.0 * k]
        pixels = ds.pixel_array.copy()
        pixels[0, 0] = k
        ds.PixelData = pixels.tobytes()
        files.append(staged(write_instance(ds, tmp_path / f"s{k}.dcm"), f"study/ct/{k}.dcm"))
    (series,) = group_series([files[2], files[0], files[3], files[1]], tmp_path)
    source = open_source(series.path, series.name)
    intercept = float(base.RescaleIntercept)
    assert [source.read_slice(k)[0, 0] for k in range(4)] == [k + intercept for k in range(4)]
    assert np.allclose(source.info.meta["spacing"][2], 5.0)
    assert "PatientName" not in source.info.meta and "PatientID" in source.info.private_meta


def test_identity_is_kept_apart_and_stripped_on_request(tmp_path):
    (series,) = group_series(oblique_series(tmp_path, count=3), tmp_path)
    info = open_dicom_series(series.path, series.name).info
    assert info.private_meta["PatientID"] == "PID-12345" and "SeriesInstanceUID" in info.private_meta
    shown = repr(info.meta)
    assert "Doe" not in shown and "PID-12345" not in shown and "General Hospital" not in shown
    clean = tmp_path / "clean.zip"
    clean.write_bytes(deidentified_series(series.path))
    assert is_series_file(clean)
    with zipfile.ZipFile(clean) as archive:
        for name in archive.namelist():
            if name == MANIFEST:
                continue
            ds = pydicom.dcmread(io.BytesIO(archive.read(name)))
            assert "PatientName" not in ds and "PatientID" not in ds and "InstitutionName" not in ds
    source = open_source(clean, "clean.zip")
    original = open_source(series.path, series.name)
    assert all(np.array_equal(source.read_slice(k), original.read_slice(k)) for k in range(3))


def test_undecodable_instance_is_refused_at_upload(tmp_path):
    files = oblique_series(tmp_path, count=3)
    damaged = files[1].path.read_bytes()[:-100]
    files[1].path.write_bytes(damaged)
    with pytest.raises(InvalidInput):
        group_series([staged(f.path, f.name) for f in files], tmp_path)


def test_a_zip_that_is_not_a_series_file_is_not_read_as_one(tmp_path):
    path = tmp_path / "other.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("series.json", b'{"format": "something else"}')
    assert open_dicom_series(path, "other.zip") is None
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("series.json", b'{"format": "edgeflow-dicom-series", "slices": ["slices/00000.dcm"]}')
    with pytest.raises(InvalidInput):
        open_dicom_series(path, "broken.zip")


def test_the_upload_hook_prepares_niftis_and_series_together(tmp_path):
    from backend.images.sources.stacks import prepare_stacks
    from tests.medical_volumes import mr_volume, nifti_file

    nifti_file(tmp_path / "brain.nii.gz", mr_volume((10, 8, 3)))
    brain = staged(tmp_path / "brain.nii.gz", "brain.nii.gz")
    series = oblique_series(tmp_path, count=3)
    result = prepare_stacks([brain, *series], tmp_path)
    assert [item.name for item in result] == ["brain.nii", "ct_series3.zip"]
    kinds = [open_source(item.path, item.name).info for item in result]
    assert [(info.kind, info.slices) for info in kinds] == [("nifti", 3), ("dicom", 3)]
