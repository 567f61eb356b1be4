"""Volumes through the rendering path (what the browser shows and the model segments): every slice of a stored
NIfTI volume and DICOM series renders at the image's size under its display mapping, the slice asked for."""

import cv2
import numpy as np
import pytest

from backend.common.errors import InvalidInput
from backend.images.renderings import rendering_of
from backend.images.sources.dicom_series import group_series
from tests.medical_volumes import ct_instance, mr_volume, nifti_file, staged, stored_image, write_instance


def rgb(rendering) -> np.ndarray:
    return cv2.cvtColor(cv2.imread(str(rendering.path), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


def test_nifti_slices_render_in_the_screen_layout(world, tmp_path):
    data = mr_volume((40, 30, 5))
    data[:, :, 2] = 0
    data[3, 25, 2] = 3000  # on slice 2 one bright voxel: i = 3, j = 25 → row 30 - 1 - 25 = 4, column 3
    nifti_file(tmp_path / "v.nii", data)
    image = stored_image(world.project, tmp_path / "v.nii", "v.nii")
    image.display = {"mode": "window", "center": 1500.0, "width": 3000.0, "bands": [0], "invert": False}
    image.save()
    for k in range(5):
        assert rgb(rendering_of(image, k)).shape == (30, 40, 3)
    shown = rgb(rendering_of(image, 2))[:, :, 0]
    assert np.argwhere(shown).tolist() == [[4, 3]] and shown[4, 3] == 255
    with pytest.raises(InvalidInput):
        rendering_of(image, 5)


def test_series_slices_render_in_slice_order(world, tmp_path):
    files = []
    for k in range(3):
        pixels = np.full((10, 14), 1024, np.uint16)  # 0 HU
        pixels[k, k] = 1024 + 400  # slice k: one bright pixel at (k, k)
        ds = ct_instance(
            rows=10, columns=14, position=[0.0, 0.0, 5.0 * k], orientation=[1, 0, 0, 0, 1, 0], spacing=[1, 1],
            number=3 - k, series_uid="1.2.3.77", pixels=pixels,
        )  # fmt: skip
        files.append(staged(write_instance(ds, tmp_path / f"{k}.dcm"), f"s/{k}.dcm"))
    (series,) = group_series(files[::-1], tmp_path)
    image = stored_image(world.project, series.path, series.name)
    image.display = {"mode": "window", "center": 200.0, "width": 400.0, "bands": [0], "invert": False}
    image.save()
    for k in range(3):
        shown = rgb(rendering_of(image, k))[:, :, 0]
        assert shown.shape == (10, 14)
        assert np.argwhere(shown == 255).tolist() == [[k, k]]
