"""NIfTI volumes as sources: slices along the third voxel axis in the documented screen layout (and back exactly),
samples after scl_slope/inter, the affine and spacing in meta, CT-looking volumes windowed, broken files refused."""

import gzip
import struct

import nibabel as nib
import numpy as np
import pytest

from backend.common.errors import InvalidInput
from backend.images.sources import open_source
from backend.images.sources.nifti import open_nifti, stored_nifti
from backend.images.sources.volumes import display_of_voxels, voxels_of_display
from tests.medical_volumes import AFFINE, mr_volume, nifti_file, staged


@pytest.mark.parametrize("suffix", [".nii", ".nii.gz"])
def test_slices_samples_and_meta(tmp_path, suffix):
    data = mr_volume((40, 30, 7))
    path = tmp_path / f"head{suffix}"
    saved = nifti_file(path, data, slope=0.5, inter=-10.0)
    source = open_source(path, path.name)
    info = source.info
    assert (info.kind, info.format, info.width, info.height, info.slices, info.bands) == (
        "nifti",
        "NIFTI",
        40,
        30,
        7,
        1,
    )
    assert info.sample_type == "float32"
    assert np.array_equal(np.asarray(info.meta["affine"]), saved.affine)
    assert np.allclose(info.meta["spacing"], saved.header.get_zooms())
    assert info.meta["shape"] == [40, 30, 7]
    assert info.meta["orientation"] == list(nib.aff2axcodes(saved.affine))
    assert info.meta["scaling"] == {"slope": 0.5, "inter": -10.0}
    # MR-like: the default is the 0.5-99.5 % stretch, no CT presets
    assert info.display == {"mode": "percentile", "low": 0.5, "high": 99.5, "bands": [0], "invert": False}
    assert info.presets == []
    for k in (0, 3, 6):
        shown = source.read_slice(k)
        assert shown.shape == (30, 40) and shown.dtype == np.float32
        scaled = data[:, :, k].astype(np.float32) * 0.5 - 10.0
        # row r, column c shows voxel (i = c, j = 29 - r): the second axis runs upwards
        assert shown[0, 0] == scaled[0, 29] and shown[29, 0] == scaled[0, 0] and shown[0, 39] == scaled[39, 29]
        assert np.array_equal(voxels_of_display(shown, reversed_rows=True), scaled)


def test_screen_layout_is_inverted_exactly():
    rng = np.random.default_rng(3)
    for shape in [(5, 7), (1, 9), (8, 1), (6, 4, 3)]:
        plane = rng.integers(0, 1000, size=shape)
        for reversed_rows in (True, False):
            view = display_of_voxels(plane, reversed_rows=reversed_rows)
            assert view.shape[:2] == (shape[1], shape[0])
            assert np.array_equal(voxels_of_display(view, reversed_rows=reversed_rows), plane)


def test_unscaled_integers_stay_integers_and_sides_are_named(tmp_path):
    data = mr_volume((16, 12, 3))
    path = tmp_path / "ras.nii"
    nifti_file(path, data, np.diag([1.2, 1.0, 3.0, 1.0]))
    source = open_nifti(path, "ras.nii")
    assert source.info.sample_type == "int16"
    assert source.read_slice(1).dtype == np.int16
    assert source.info.meta["orientation"] == ["R", "A", "S"]
    # RAS+ voxels: first axis towards the right → the patient's right on the viewer's right, anterior at the top
    assert source.info.meta["sides"] == {"left": "L", "right": "R", "top": "A", "bottom": "P"}
    assert np.allclose(source.info.meta["spacing"], [1.2, 1.0, 3.0])


def test_ct_in_hounsfield_units_gets_a_window_and_presets(tmp_path):
    rng = np.random.default_rng(1)
    data = np.full((32, 32, 5), -1000, np.int16)
    data[8:24, 8:24] = rng.integers(-100, 1500, size=(16, 16, 5))
    path = tmp_path / "ct.nii.gz"
    nifti_file(path, data)
    info = open_nifti(path, "ct.nii.gz").info
    assert info.display["mode"] == "window" and (info.display["center"], info.display["width"]) == (50.0, 400.0)
    assert {preset["name"] for preset in info.presets} >= {"Lung", "Bone", "Soft tissue", "Brain"}


def test_a_2d_file_is_one_slice_and_a_single_volume_4d_file_a_3d_one(tmp_path):
    flat = mr_volume((20, 10, 1))[:, :, 0]
    nifti_file(tmp_path / "flat.nii", flat)
    source = open_nifti(tmp_path / "flat.nii", "flat.nii")
    assert (source.info.slices, source.info.width, source.info.height) == (1, 20, 10)
    assert np.array_equal(source.read_slice(0), flat[:, ::-1].T)
    four = mr_volume((20, 10, 4))[..., None]
    nifti_file(tmp_path / "one.nii.gz", four)
    source = open_nifti(tmp_path / "one.nii.gz", "one.nii.gz")
    assert source.info.slices == 4
    assert np.array_equal(source.read_slice(2), four[:, ::-1, 2, 0].T)


def test_several_volumes_are_refused_clearly(tmp_path):
    nifti_file(tmp_path / "fmri.nii.gz", np.zeros((8, 8, 4, 3), np.int16))
    with pytest.raises(InvalidInput) as caught:
        open_nifti(tmp_path / "fmri.nii.gz", "fmri.nii.gz")
    assert "3 volumes" in caught.value.message and caught.value.code == "unsupported_format"


def test_corrupt_files_are_invalid_input(tmp_path):
    path = tmp_path / "full.nii.gz"
    nifti_file(path, mr_volume((40, 30, 7)))
    whole = path.read_bytes()
    truncated = tmp_path / "cut.nii.gz"
    truncated.write_bytes(whole[: len(whole) * 2 // 3])
    with pytest.raises(InvalidInput) as caught:
        open_source(truncated, "cut.nii.gz")
    assert caught.value.code == "corrupt_image"
    flipped = bytearray(whole)
    flipped[len(whole) // 2] ^= 0xFF
    (tmp_path / "flip.nii.gz").write_bytes(bytes(flipped))
    with pytest.raises(InvalidInput):
        open_source(tmp_path / "flip.nii.gz", "flip.nii.gz")
    (tmp_path / "junk.nii.gz").write_bytes(gzip.compress(b"not a header" * 100))
    with pytest.raises(InvalidInput):
        open_source(tmp_path / "junk.nii.gz", "junk.nii.gz")
    plain = tmp_path / "full.nii"
    nifti_file(plain, mr_volume((40, 30, 7)))
    (tmp_path / "short.nii").write_bytes(plain.read_bytes()[:-100])
    with pytest.raises(InvalidInput) as caught:
        open_source(tmp_path / "short.nii", "short.nii")
    assert "truncated" in caught.value.message
    # a gzip file that is no NIfTI and does not claim to be one is not this reader's
    (tmp_path / "other.gz").write_bytes(gzip.compress(b"x" * 1000))
    assert open_nifti(tmp_path / "other.gz", "other.gz") is None


def test_the_volume_bound_is_read_from_the_header(tmp_path, settings):
    settings.MAX_SOURCE_SAMPLES = 40 * 30 * 6
    nifti_file(tmp_path / "big.nii.gz", mr_volume((40, 30, 7)))
    with pytest.raises(InvalidInput) as caught:
        open_nifti(tmp_path / "big.nii.gz", "big.nii.gz")
    assert caught.value.code == "image_too_large"


def test_stored_form_of_a_gzip_upload_is_the_nii_it_holds(tmp_path):
    data = mr_volume((24, 20, 5))
    path = tmp_path / "brain.nii.gz"
    nifti_file(path, data, slope=2.0, inter=1.0)
    original = gzip.decompress(path.read_bytes())
    stored = stored_nifti(staged(path, "scans/brain.nii.gz"), tmp_path)
    assert stored.name == "scans/brain.nii"
    assert stored.path.read_bytes() == original and stored.size == len(original)
    assert not path.exists()  # the staged gzip is replaced
    source = open_source(stored.path, stored.name)
    assert np.array_equal(source.read_slice(4), (data[:, :, 4] * 2.0 + 1.0)[:, ::-1].T.astype(np.float32))
    # a plain .nii or any other file is left as it is
    plain = tmp_path / "plain.nii"
    nifti_file(plain, data)
    kept = staged(plain, "plain.nii")
    assert stored_nifti(kept, tmp_path) is kept


def test_stored_form_refuses_a_broken_gzip_and_a_bomb(tmp_path):
    path = tmp_path / "full.nii.gz"
    nifti_file(path, mr_volume((40, 30, 7)))
    cut = tmp_path / "cut.nii.gz"
    cut.write_bytes(path.read_bytes()[:-200])
    with pytest.raises(InvalidInput):
        stored_nifti(staged(cut, "cut.nii.gz"), tmp_path)
    # a header declaring 8×8×1 voxels followed by 4 MB of zeros
    header = nib.Nifti1Header()
    header.set_data_shape((8, 8, 1))
    header.set_data_dtype(np.uint8)
    header["vox_offset"] = 352
    bomb = tmp_path / "bomb.nii.gz"
    bomb.write_bytes(gzip.compress(header.binaryblock + struct.pack("<i", 0) + bytes(4 << 20)))
    with pytest.raises(InvalidInput) as caught:
        stored_nifti(staged(bomb, "bomb.nii.gz"), tmp_path)
    assert "more data" in caught.value.message
    assert list(tmp_path.glob("*.nii")) == [] or all(p.name == "full.nii" for p in tmp_path.glob("*.nii"))


def test_affine_without_shear_is_kept_through_qform_only_files(tmp_path):
    image = nib.Nifti1Image(mr_volume((10, 12, 4)), np.diag([-2.0, 1.5, 3.0, 1.0]))
    image.set_sform(None, code=0)
    image.set_qform(np.diag([-2.0, 1.5, 3.0, 1.0]), code=1)
    nib.save(image, tmp_path / "q.nii")
    info = open_nifti(tmp_path / "q.nii", "q.nii").info
    assert np.allclose(info.meta["affine"], np.diag([-2.0, 1.5, 3.0, 1.0]))
    assert (info.meta["qform_code"], info.meta["sform_code"]) == (1, 0)
    assert AFFINE.shape == (4, 4)
