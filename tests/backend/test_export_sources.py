"""Sources in the 2-D export formats: the images ship as the PNG rendering the annotator saw, a stack slice by
slice (``<stem>_s0002.png``) with the objects of that slice only — read back with pycocotools and Pillow."""

import io
import json
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image as PILImage
from pycocotools import mask as mask_utils

from backend.annotations.services import object_create_from_mask
from backend.exports.archive import write_archive
from backend.exports.formats import FORMATS, contents_for
from backend.images.models import Image
from backend.images.renderings import rendering_of
from tests.backend.test_medical_sources import ct_dicom, ct_values, post_files
from tests.conftest import World, upload


def exported(world: World, fmt: str, tmp_path: Path) -> zipfile.ZipFile:
    contents = contents_for(FORMATS[fmt], project=world.project, images=Image.objects.filter(kind="dicom"))
    write_archive(contents, FORMATS[fmt], include_images=True, destination=tmp_path / f"{fmt}.zip")
    return zipfile.ZipFile(tmp_path / f"{fmt}.zip")


def square(height: int, width: int, top: int, left: int, size: int) -> np.ndarray:
    mask = np.zeros((height, width), dtype=bool)
    mask[top : top + size, left : left + size] = True
    return mask


def stack(world: World) -> tuple[Image, list[np.ndarray]]:
    """A 3-frame CT with one object on slice 0 and two on slice 2."""
    created = post_files(world, upload("cine.dcm", ct_dicom(ct_values(), frames=3))).json()["created"][0]
    image = Image.objects.get(pk=created["id"])
    masks = [square(40, 50, 2, 3, 6), square(40, 50, 20, 20, 10), square(40, 50, 5, 30, 4)]
    for mask, slice_index in zip(masks, [0, 2, 2], strict=True):
        object_create_from_mask(
            image=image, author=world.users["manager"], label_id=world.label.pk, mask=mask, slice_index=slice_index
        )
    return image, masks


def test_coco_writes_a_stack_slice_by_slice_with_each_slice_s_objects(world: World, tmp_path: Path) -> None:
    image, masks = stack(world)
    with exported(world, "coco", tmp_path) as archive:
        document = json.loads(archive.read("annotations/instances_default.json"))
        names = [entry["file_name"] for entry in document["images"]]
        assert names == ["cine_s0000.png", "cine_s0001.png", "cine_s0002.png"]
        ids = {entry["file_name"]: entry["id"] for entry in document["images"]}
        assert len(set(ids.values())) == 3
        on = {name: [a for a in document["annotations"] if a["image_id"] == ids[name]] for name in names}
        assert [len(on[name]) for name in names] == [1, 0, 2]
        for annotation, mask in zip(on["cine_s0000.png"] + on["cine_s0002.png"], masks, strict=True):
            segmentation = annotation["segmentation"]
            rles = mask_utils.frPyObjects(segmentation, 40, 50) if isinstance(segmentation, list) else [segmentation]
            assert np.array_equal(mask_utils.decode(mask_utils.merge(rles)).astype(bool), mask)
        for index, name in enumerate(names):
            shipped = np.asarray(PILImage.open(io.BytesIO(archive.read(f"images/{name}"))).convert("RGB"))
            assert np.array_equal(shipped, np.asarray(PILImage.open(rendering_of(image, index).path).convert("RGB")))


def test_label_masks_of_a_stack_are_one_png_per_slice(world: World, tmp_path: Path) -> None:
    _, masks = stack(world)
    with exported(world, "masks", tmp_path) as archive:
        slice0 = np.asarray(PILImage.open(io.BytesIO(archive.read("masks/cine_s0000.png"))))
        slice1 = np.asarray(PILImage.open(io.BytesIO(archive.read("masks/cine_s0001.png"))))
        slice2 = np.asarray(PILImage.open(io.BytesIO(archive.read("masks/cine_s0002.png"))))
    assert np.array_equal(slice0 > 0, masks[0])
    assert not slice1.any()
    assert np.array_equal(slice2 > 0, masks[1] | masks[2])


def test_a_single_dicom_ships_as_its_rendering_without_patient_data(world: World, tmp_path: Path) -> None:
    created = post_files(world, upload("chest.dcm", ct_dicom(ct_values()))).json()["created"][0]
    image = Image.objects.get(pk=created["id"])
    with exported(world, "voc", tmp_path) as archive:
        shipped = archive.read("JPEGImages/chest.png")
        assert b"Doe" not in b"".join(archive.read(name) for name in archive.namelist())
    assert np.array_equal(
        np.asarray(PILImage.open(io.BytesIO(shipped)).convert("RGB")),
        np.asarray(PILImage.open(rendering_of(image).path).convert("RGB")),
    )


def test_a_format_shipping_stored_files_ships_a_dicom_without_patient_data(world: World, tmp_path: Path) -> None:
    import pydicom

    post_files(world, upload("chest.dcm", ct_dicom(ct_values())))
    with exported(world, "geotiff", tmp_path) as archive:  # ships sources as stored (GeoTIFFs), DICOM left out
        shipped = pydicom.dcmread(io.BytesIO(archive.read("images/chest.dcm")))
    assert "PatientName" not in shipped and "PatientID" not in shipped and "InstitutionName" not in shipped
    assert shipped.PatientIdentityRemoved == "YES"
    assert np.array_equal(shipped.pixel_array, np.clip(ct_values() + 1024, 0, 4095).astype(np.uint16))
