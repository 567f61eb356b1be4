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
from tests.conftest import World, upload
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


NIBABEL_DATA = Path(nib.__file__).parent / "tests" / "data"


@pytest.mark.parametrize(
    ("name", "slices"), [("anatomical.nii", None), ("standard.nii.gz", None), ("example_nifti2.nii.gz", None)]
)
def test_the_volumes_nibabel_ships_are_read(world: World, name: str, slices) -> None:
    data = (NIBABEL_DATA / name).read_bytes()
    source = nib.load(NIBABEL_DATA / name)
    response = post_files(world, upload(name, data))
    assert response.status_code in (201, 400), response.content
    if response.status_code == 400:  # a 4-D series of volumes: refused, saying how to take one
        assert len(source.shape) == 4 and source.shape[3] > 1, response.json()
        assert "volume" in refusal(response)
        return
    image = response.json()["created"][0]
    assert (image["width"], image["height"], image["slice_count"]) == source.shape[:3]
    middle = shown(world, image, slice_index=image["slice_count"] // 2)
    assert middle.shape == (source.shape[1], source.shape[0], 3)


def test_a_4d_series_of_volumes_is_refused_with_a_reason(world: World) -> None:
    response = post_files(world, upload("example4d.nii.gz", (NIBABEL_DATA / "example4d.nii.gz").read_bytes()))
    assert response.status_code == 400
    assert "volume" in refusal(response) and "example4d.nii.gz" in refusal(response)


def refusal(response) -> str:
    body = response.json()
    return body["details"][0]["detail"] if "details" in body else body["detail"]
