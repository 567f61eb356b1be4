"""A scanner's export zipped as it comes — instances named IM0001…, a DICOMDIR index — becomes one stack."""

import io
import zipfile

import numpy as np

from backend.images.models import Image
from tests.backend.test_medical_sources import post_files
from tests.conftest import World, upload
from tests.medical_volumes import ct_instance

SERIES = "1.2.826.0.1.3680043.8.498.77"


def series_files(count: int = 5) -> list[bytes]:
    """A 5-slice axial CT series, slice i at z = 2.5·i mm, its pixels brighter with i."""
    files = []
    for index in range(count):
        ds = ct_instance(
            rows=24, columns=32, position=[0.0, 0.0, 2.5 * index], orientation=[1, 0, 0, 0, 1, 0],
            spacing=[0.8, 0.8], number=index + 1, series_uid=SERIES,
            pixels=np.full((24, 32), 1000 + 50 * index, dtype=np.uint16),
        )  # fmt: skip
        out = io.BytesIO()
        ds.save_as(out, enforce_file_format=True)
        files.append(out.getvalue())
    return files


def test_a_zipped_series_with_extensionless_names_and_a_dicomdir_is_one_stack(world: World) -> None:
    files = series_files()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for index, data in enumerate(reversed(files)):  # in no particular order
            archive.writestr(f"export/IM{index:04d}", data)
        archive.writestr("export/DICOMDIR", b"\0" * 128 + b"DICM" + b"\0" * 64)
        archive.writestr("export/readme.txt", b"from the scanner")
    response = post_files(world, upload("scan.zip", buffer.getvalue()))
    assert response.status_code == 201, response.content
    [image] = response.json()["created"]
    assert (image["kind"], image["slice_count"]) == ("dicom", len(files))
    stored = Image.objects.get(pk=image["id"])
    assert stored.file.name.endswith(".zip")
    means = [shown_mean(world, image, index) for index in range(len(files))]
    assert means == sorted(means) or means == sorted(means, reverse=True)  # ordered along z, not by name
    assert len(set(means)) == len(files)


def shown_mean(world: World, image: dict, index: int) -> float:
    from tests.backend.test_medical_sources import shown

    return float(shown(world, image, slice_index=index).mean())
