"""A gzip NIfTI volume uploaded through the API, an object drawn on one slice, and the NIfTI export job read back
with nibabel: the source's affine and shape, the object's voxels on that slice and nowhere else."""

import gzip
import io
import zipfile
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from backend.images.display import render
from backend.images.sources.volumes import display_of_voxels, voxels_of_display
from ml.postprocess import polygons_to_mask
from tests.backend.test_export_jobs import _exports_in_a_thread, download, finished, start  # noqa: F401 - fixture
from tests.backend.test_medical_sources import post_files, shown
from tests.conftest import upload
from tests.medical_volumes import AFFINE, mr_volume, nifti_file

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_nifti_upload_is_a_stack_annotated_slice_by_slice_and_exported_in_voxel_space(world, tmp_path: Path) -> None:
    volume = mr_volume()  # 40 × 30 × 7 voxels
    nifti_file(tmp_path / "head.nii.gz", volume)
    response = post_files(world, upload("head.nii.gz", (tmp_path / "head.nii.gz").read_bytes()))
    assert response.status_code == 201, response.content
    image = response.json()["created"][0]
    assert (image["kind"], image["slice_count"], image["width"], image["height"]) == ("nifti", 7, 40, 30)
    reversed_rows = True  # backend.images.sources.nifti: rows are the second voxel axis, reversed
    view = display_of_voxels(volume[:, :, 3].astype(np.float32), reversed_rows=reversed_rows)
    assert np.array_equal(shown(world, image, slice_index=3), render(view, image["display"]))

    square = [{"outer": [[5, 4], [15, 4], [15, 12], [5, 12]], "holes": []}]
    body = {"label": world.label.pk, "polygons": square, "slice": 3}
    assert world.client("manager").post(f"/api/images/{image['id']}/objects/", body, format="json").status_code == 201

    job = start(world, format="nifti")
    assert finished(world, job["id"])["status"] == "succeeded"
    archive = zipfile.ZipFile(io.BytesIO(b"".join(download(world, job["id"]).streaming_content)))
    names = archive.namelist()
    label_path = next(name for name in names if name.startswith("labels/") and name.endswith(".nii.gz"))
    labels = nib.Nifti1Image.from_bytes(gzip.decompress(archive.read(label_path)))
    assert labels.shape == volume.shape
    assert np.allclose(labels.affine, AFFINE)
    voxels = np.asarray(labels.dataobj)
    drawn = polygons_to_mask(square, 30, 40)
    assert np.array_equal(voxels[:, :, 3] > 0, voxels_of_display(drawn, reversed_rows=reversed_rows))
    assert not np.delete(voxels, 3, axis=2).any()
