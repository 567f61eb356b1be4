"""Images that are not 8-bit photos — 16-bit/float TIFF and PNG, DICOM (generated, and the files pydicom ships,
compressed ones included) — uploaded, stored losslessly, shown through their display mapping, with patient data
shown to nobody."""

import io
import json
from pathlib import Path

import cv2
import numpy as np
import pydicom
import pytest
import tifffile
from PIL import Image as PILImage
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from backend.images.display import render
from backend.images.models import Image
from tests.conftest import World, upload

PYDICOM_FILES = Path(pydicom.__file__).parent / "data" / "test_files"
PATIENT = "Doe^Jane"


def post_files(world: World, *files, who: str = "manager"):
    return world.client(who).post(
        f"/api/projects/{world.project.pk}/images/", {"files": list(files)}, format="multipart"
    )


def ct_values(height: int = 40, width: int = 50) -> np.ndarray:
    """Hounsfield units: air around a soft-tissue disc with a bone core."""
    yy, xx = np.mgrid[:height, :width]
    r = np.hypot(yy - height / 2, xx - width / 2)
    hu = np.full((height, width), -1000.0)
    hu[r < 15] = 40.0
    hu[r < 5] = 900.0
    return hu


def ct_dicom(hu: np.ndarray, *, frames: int = 1, center: float = 40.0, width: float = 400.0) -> bytes:
    """A CT image (stored = HU + 1024, slope 1, intercept -1024) with a window and patient data; ``hu`` is one
    image (frame i then 100 HU brighter each) or the frames themselves."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = pydicom.uid.CTImageStorage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID, ds.SOPInstanceUID = meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID
    ds.PatientName, ds.PatientID, ds.PatientBirthDate = PATIENT, "MRN-314159", "19700101"
    ds.InstitutionName = "General Hospital"
    ds.Modality, ds.BodyPartExamined = "CT", "CHEST"
    ds.Rows, ds.Columns = hu.shape[-2:]
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    ds.RescaleSlope, ds.RescaleIntercept = 1, -1024
    ds.WindowCenter, ds.WindowWidth = center, width
    ds.PixelSpacing = [0.7, 0.7]
    stored = np.clip(hu + 1024, 0, 4095).astype(np.uint16)
    if frames > 1:
        ds.NumberOfFrames = frames
        if hu.ndim == 2:  # frame i is the image 100 HU brighter each time
            stored = np.stack([np.clip(stored + 100 * i, 0, 4095).astype(np.uint16) for i in range(frames)])
    ds.PixelData = stored.tobytes()
    out = io.BytesIO()
    ds.save_as(out, enforce_file_format=True)
    return out.getvalue()


def shown(world: World, image: dict, *, slice_index: int | None = None, who: str = "manager") -> np.ndarray:
    url = image["file_url"] + (
        "" if slice_index is None else ("&" if "?" in image["file_url"] else "?") + f"slice={slice_index}"
    )
    response = world.client(who).get(url)
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "image/png"
    return np.asarray(PILImage.open(io.BytesIO(b"".join(response.streaming_content))).convert("RGB"))


def window(values: np.ndarray, center: float, width: float) -> np.ndarray:
    low = center - width / 2
    grey = np.clip(np.rint((values - low) * 255.0 / width), 0, 255).astype(np.uint8)
    return np.repeat(grey[:, :, None], 3, axis=2)


def test_a_16_bit_png_is_stored_as_sent_and_shown_with_a_2_percent_stretch(world: World) -> None:
    rng = np.random.default_rng(3)
    values = rng.integers(1000, 9000, size=(30, 40), dtype=np.uint16)
    ok, encoded = cv2.imencode(".png", values)
    assert ok
    response = post_files(world, upload("sensor.png", encoded.tobytes()))
    assert response.status_code == 201, response.content
    image = response.json()["created"][0]
    assert (image["kind"], image["sample_type"], image["width"], image["height"]) == ("scalar", "uint16", 40, 30)
    assert image["display"] == {"mode": "percentile", "low": 2.0, "high": 98.0, "bands": [0], "invert": False}
    stored = Image.objects.get(pk=image["id"])
    assert Path(stored.file.path).read_bytes() == encoded.tobytes()  # lossless: the file as uploaded
    expected = render(values, image["display"])
    assert np.array_equal(shown(world, image), expected)
    lo, hi = np.percentile(values, [2, 98])
    assert expected[values <= lo].max() == 0 and expected[values >= hi].min() == 255


def test_a_float_tiff_stack_has_its_pages_as_slices(world: World) -> None:
    pages = np.stack([np.linspace(0, 1, 24 * 32, dtype=np.float32).reshape(24, 32) * (i + 1) for i in range(3)])
    buffer = io.BytesIO()
    tifffile.imwrite(buffer, pages, photometric="minisblack")
    response = post_files(world, upload("stack.tif", buffer.getvalue()))
    assert response.status_code == 201, response.content
    image = response.json()["created"][0]
    assert (image["kind"], image["slice_count"], image["sample_type"]) == ("scalar", 3, "float32")
    for index in range(3):
        assert np.array_equal(shown(world, image, slice_index=index), render(pages[index], image["display"]))
    assert world.client("manager").get(f"/api/images/{image['id']}/file?slice=3").status_code == 400
    assert world.client("manager").get(f"/api/images/{image['id']}/file?slice=-1").status_code == 400


def test_a_ct_dicom_is_shown_in_its_own_window_in_hounsfield_units_with_ct_presets(world: World) -> None:
    hu = ct_values()
    response = post_files(world, upload("chest.dcm", ct_dicom(hu, center=40, width=400)))
    assert response.status_code == 201, response.content
    image = response.json()["created"][0]
    assert (image["kind"], image["format"], image["width"], image["height"]) == ("dicom", "DICOM", 50, 40)
    assert image["display"] == {"mode": "window", "center": 40.0, "width": 400.0, "bands": [0], "invert": False}
    names = [p["name"] for p in image["presets"]]
    assert names[0] == "File window 1" and {"Lung", "Bone", "Soft tissue", "Brain"} <= set(names)
    assert image["meta"]["Modality"] == "CT"
    assert np.array_equal(shown(world, image), window(hu, 40, 400))


def test_patient_data_is_shown_to_nobody(world: World) -> None:
    response = post_files(world, upload("chest.dcm", ct_dicom(ct_values())))
    image = response.json()["created"][0]
    stored = Image.objects.get(pk=image["id"])
    assert stored.private_meta["PatientName"] == PATIENT and stored.private_meta["PatientID"] == "MRN-314159"
    for who in ("manager", "annotator", "reviewer"):
        for url in (f"/api/images/{image['id']}/", f"/api/projects/{world.project.pk}/images/"):
            answer = world.client(who).get(url)
            if answer.status_code == 200:
                text = json.dumps(answer.json())
                assert "Doe" not in text and "MRN-314159" not in text and "General Hospital" not in text
    served = b"".join(world.client("manager").get(image["file_url"]).streaming_content)
    assert served.startswith(b"\x89PNG") and b"Doe" not in served  # the rendering, never the DICOM file


def test_changing_the_window_changes_what_everyone_sees_and_only_editors_may(world: World) -> None:
    hu = ct_values()
    image = post_files(world, upload("chest.dcm", ct_dicom(hu))).json()["created"][0]
    Image.objects.filter(pk=image["id"]).update(batch=world.batch)
    lung = {"mode": "window", "center": -600, "width": 1500}
    refused = world.client("reviewer").put(f"/api/images/{image['id']}/display", {"display": lung}, format="json")
    assert refused.status_code in (403, 404)
    changed = world.client("annotator").put(f"/api/images/{image['id']}/display", {"display": lung}, format="json")
    assert changed.status_code == 200, changed.content
    now = changed.json()
    assert now["file_url"] != image["file_url"]  # a new mapping is a new URL: no stale cached picture
    assert np.array_equal(shown(world, now, who="reviewer"), window(hu, -600, 1500))


@pytest.mark.parametrize(
    "display",
    [
        {"mode": "window", "center": 40, "width": 0},
        {"mode": "window", "center": "x", "width": 10},
        {"mode": "percentile", "low": 50, "high": 10},
        {"mode": "gamma"},
        {"mode": "window", "center": 1, "width": 1, "bands": [1]},
        "lung",
    ],
)
def test_a_bad_display_mapping_is_refused_and_changes_nothing(world: World, display) -> None:
    image = post_files(world, upload("chest.dcm", ct_dicom(ct_values()))).json()["created"][0]
    answer = world.client("manager").put(f"/api/images/{image['id']}/display", {"display": display}, format="json")
    assert answer.status_code == 400 and answer.json()["error"] == "bad_display"
    assert Image.objects.get(pk=image["id"]).display == image["display"]


def test_a_photo_has_no_display_mapping(world: World) -> None:
    image = world.free_image
    answer = world.client("manager").put(f"/api/images/{image.pk}/display", {"display": {}}, format="json")
    assert answer.status_code == 400 and answer.json()["error"] == "not_a_source"


def test_a_multi_frame_dicom_is_a_stack_and_objects_lie_on_a_slice(world: World) -> None:
    hu = ct_values()
    image = post_files(world, upload("cine.dcm", ct_dicom(hu, frames=3))).json()["created"][0]
    assert image["slice_count"] == 3
    assert np.array_equal(shown(world, image, slice_index=2), window(hu + 200, 40, 400))
    label = world.label.pk
    square = [{"outer": [[10, 10], [20, 10], [20, 20], [10, 20]], "holes": []}]
    body = {"label": label, "polygons": square, "slice": 2}
    created = world.client("manager").post(f"/api/images/{image['id']}/objects/", body, format="json")
    assert created.status_code == 201, created.content
    assert created.json()["slice"] == 2
    beyond = world.client("manager").post(f"/api/images/{image['id']}/objects/", {**body, "slice": 3}, format="json")
    assert beyond.status_code == 400 and beyond.json()["error"] == "bad_slice"


@pytest.mark.parametrize(
    "name",
    [
        "CT_small.dcm",
        "MR_small_RLE.dcm",
        "MR_small_jp2klossless.dcm",
        "MR_small_jpeg_ls_lossless.dcm",
        "JPGExtended.dcm",
        "JPEG2000.dcm",
        "SC_rgb_jpeg_gdcm.dcm",
        "SC_rgb_jpeg_dcmtk.dcm",
    ],
)
def test_the_dicom_files_pydicom_ships_are_read_compressed_or_not(world: World, name: str) -> None:
    data = (PYDICOM_FILES / name).read_bytes()
    response = post_files(world, upload(name, data))
    assert response.status_code == 201, response.content
    image = response.json()["created"][0]
    dataset = pydicom.dcmread(io.BytesIO(data))
    assert (image["width"], image["height"]) == (dataset.Columns, dataset.Rows)
    rgb = shown(world, image)
    assert rgb.shape == (dataset.Rows, dataset.Columns, 3) and rgb.std() > 10  # a picture, not a blank


def test_a_multi_frame_file_pydicom_ships_is_a_stack(world: World) -> None:
    response = post_files(world, upload("dose.dcm", (PYDICOM_FILES / "rtdose.dcm").read_bytes()))
    assert response.status_code == 201, response.content
    image = response.json()["created"][0]
    assert (image["slice_count"], image["width"], image["height"]) == (15, 10, 10)
    assert shown(world, image, slice_index=14).shape == (10, 10, 3)


@pytest.mark.parametrize("name", ["MR_truncated.dcm", "JPEG-lossy.dcm"])  # cut short; a damaged JPEG stream
def test_a_dicom_whose_pixels_do_not_decode_is_refused_with_a_reason_and_nothing_is_stored(world, name) -> None:
    before = Image.objects.count()
    response = post_files(world, upload("cut.dcm", (PYDICOM_FILES / name).read_bytes()))
    assert response.status_code == 400
    detail = response.json()["details"][0]
    assert detail["file"] == "cut.dcm" and detail["error"] == "corrupt_image", detail
    assert Image.objects.count() == before


def test_a_dicom_volume_above_the_sample_limit_is_refused_from_its_header(world: World, settings) -> None:
    settings.MAX_SOURCE_SAMPLES = 50 * 40 * 2
    response = post_files(world, upload("cine.dcm", ct_dicom(ct_values(), frames=3)))
    assert response.status_code == 400 and response.json()["details"][0]["error"] == "image_too_large"
