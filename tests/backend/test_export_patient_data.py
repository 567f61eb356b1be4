"""DICOM patient data leaves in an export only when a manager opts in (the export job's `patient_data`)."""

import io
import json
import zipfile

import pydicom
import pytest

from tests.backend.test_export_jobs import _exports_in_a_thread, download, finished, start  # noqa: F401 - fixture
from tests.backend.test_medical_sources import PATIENT, ct_dicom, ct_values, post_files
from tests.conftest import World, upload

pytestmark = pytest.mark.django_db(transaction=True)


def exported(world: World, **body) -> zipfile.ZipFile:
    job = start(world, search="chest", **body)
    assert finished(world, job["id"])["status"] == "succeeded"
    return zipfile.ZipFile(io.BytesIO(b"".join(download(world, job["id"]).streaming_content)))


@pytest.mark.parametrize("fmt", ["coco", "voc", "masks", "labelme", "yolo", "geotiff"])
def test_no_export_holds_patient_data_unless_asked(world: World, fmt: str) -> None:
    assert post_files(world, upload("chest.dcm", ct_dicom(ct_values()))).status_code == 201
    with exported(world, format=fmt) as archive:
        everything = b"".join(archive.read(name) for name in archive.namelist())
        assert "patient_data.json" not in archive.namelist()
    assert b"Doe" not in everything and b"MRN-314159" not in everything and b"General Hospital" not in everything


def test_a_manager_who_opts_in_gets_the_patient_data(world: World) -> None:
    assert post_files(world, upload("chest.dcm", ct_dicom(ct_values()))).status_code == 201
    with exported(world, format="geotiff", patient_data=True) as archive:
        listed = json.loads(archive.read("patient_data.json"))
        stored = pydicom.dcmread(io.BytesIO(archive.read("images/chest.dcm")))
    assert listed["chest.dcm"]["PatientName"] == PATIENT and listed["chest.dcm"]["PatientID"] == "MRN-314159"
    assert str(stored.PatientName) == PATIENT
    with exported(world, format="coco", patient_data=True) as archive:
        assert json.loads(archive.read("patient_data.json"))["chest.png"]["PatientID"] == "MRN-314159"
