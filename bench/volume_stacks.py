"""Volumes on generated data: a NIfTI CT volume and a DICOM series of the same size, from upload to label export.

    python bench/volume_stacks.py [--size 512x512x300] [--json OUT]

Each step runs in a fresh child process (its peak RSS is that step's alone: the child's VmHWM):

- ``nifti_prepare``: ``stored_nifti`` on the ``.nii.gz`` (decompressed to the stored ``.nii``, hashed);
- ``nifti_open_read``: ``open_source`` + ``info`` + reading the last slice of the stored ``.nii``;
- ``nifti_gz_read_last``: the same on the ``.nii.gz`` as uploaded (what storing it compressed would cost per slice);
- ``series_group``: ``group_series`` on the shuffled instances (every instance decoded once, zipped in order);
- ``series_open_read``: ``open_source`` + reading the last slice of the series file;
- ``label_export``: the label volume (objects on every 3rd slice, three overlapping per slice) as gzip NIfTI.

Printed (and written with --json): seconds and peak RSS (MiB) per step, and the sizes in MiB.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def setup_django() -> None:
    sys.path.insert(0, str(REPO))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.config.settings")
    import django

    django.setup()


def make_inputs(folder: Path, shape: tuple[int, int, int]) -> None:
    import nibabel as nib
    import numpy as np

    setup_django()
    from tests.medical_volumes import ct_instance, write_instance

    ni, nj, nk = shape
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:nj, 0:ni]
    body = ((xx - ni / 2) ** 2 / (ni * 0.4) ** 2 + (yy - nj / 2) ** 2 / (nj * 0.35) ** 2) < 1
    volume = np.full((ni, nj, nk), -1024, np.int16)
    for k in range(nk):
        plane = np.where(body, 40 + rng.normal(0, 20, body.shape), -1024).astype(np.int16)
        volume[:, :, k] = plane.T
    affine = np.diag([-0.7, -0.7, 2.5, 1.0])
    affine[:3, 3] = [180, 180, -300]
    nib.save(nib.Nifti1Image(volume, affine), folder / "ct.nii.gz")
    series = folder / "series"
    series.mkdir()
    for k in range(nk):
        ds = ct_instance(
            rows=nj, columns=ni, position=[-180.0, -180.0, -300 + 2.5 * k], orientation=[1, 0, 0, 0, 1, 0],
            spacing=[0.7, 0.7], number=k + 1, series_uid="1.2.826.0.1.3680043.8.498.4242",
            pixels=(volume[:, :, k].T.astype(np.int32) + 1024).astype(np.uint16),
        )  # fmt: skip
        write_instance(ds, series / f"IM{(k * 7919) % nk:05d}.dcm")  # names in no slice order


def peak_rss_mb() -> float:
    """This process's VmHWM (ru_maxrss would include the parent's, inherited across fork)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return float("nan")


def step(name: str, folder: Path) -> dict:
    setup_django()
    import hashlib
    import shutil

    import numpy as np

    from backend.images.sources import open_source
    from backend.images.staging import StagedFile

    def staged(path: Path, label: str) -> StagedFile:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        return StagedFile(name=label, path=path, size=path.stat().st_size, sha256=digest)

    started = time.perf_counter()
    result: dict = {}
    if name == "nifti_prepare":
        from backend.images.sources.nifti import stored_nifti

        copy = folder / "upload.nii.gz"
        shutil.copyfile(folder / "ct.nii.gz", copy)
        item = staged(copy, "ct.nii.gz")
        started = time.perf_counter()
        stored = stored_nifti(item, folder)
        stored.path.rename(folder / "ct.nii")
        result["stored_mb"] = (folder / "ct.nii").stat().st_size / 2**20
    elif name in ("nifti_open_read", "nifti_gz_read_last", "series_open_read"):
        path = {"nifti_open_read": "ct.nii", "nifti_gz_read_last": "ct.nii.gz", "series_open_read": "series.zip"}[name]
        source = open_source(folder / path, path)
        info = source.info
        source.read_slice(info.slices - 1)
        result["slices"] = info.slices
    elif name == "series_group":
        from backend.images.sources.dicom_series import group_series

        work = folder / "grouping"
        shutil.copytree(folder / "series", work)
        items = [staged(path, f"ct/{path.name}") for path in sorted(work.iterdir())]
        started = time.perf_counter()
        (series,) = group_series(items, work)
        series.path.rename(folder / "series.zip")
        result["stored_mb"] = (folder / "series.zip").stat().st_size / 2**20
    elif name == "label_export":
        from backend.exports.nifti_labels import label_volume_gzip, volume_grid
        from ml.postprocess import mask_to_rle

        source = open_source(folder / "ct.nii", "ct.nii")
        info = source.info
        height, width, slices = info.height, info.width, info.slices
        by_slice = {}
        for k in range(0, slices, 3):
            objects = []
            for value, (top, left, size) in enumerate([(100, 100, 200), (150, 150, 120), (250, 60, 90)], start=1):
                mask = np.zeros((height, width), bool)
                mask[top : top + size, left : left + size] = True
                objects.append((value, mask_to_rle(mask)))
            by_slice[k] = objects
        image = {"kind": "nifti", "width": width, "height": height, "slice_count": slices, "meta": info.meta}
        started = time.perf_counter()
        size = sum(
            len(chunk) for chunk in label_volume_gzip(by_slice, volume_grid(image), np.uint8, height, width, slices)
        )
        result["label_mb"] = size / 2**20
    result["seconds"] = round(time.perf_counter() - started, 3)
    result["peak_rss_mb"] = peak_rss_mb()
    return result


STEPS = ["nifti_prepare", "nifti_open_read", "nifti_gz_read_last", "series_group", "series_open_read", "label_export"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", default="512x512x300")
    parser.add_argument("--json")
    parser.add_argument("--step", help=argparse.SUPPRESS)
    parser.add_argument("--folder", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.step:
        print(json.dumps(step(args.step, Path(args.folder))))
        return
    shape = tuple(int(n) for n in args.size.split("x"))
    results: dict = {"size": args.size}
    with tempfile.TemporaryDirectory(prefix="volume-bench-") as folder:
        make_inputs(Path(folder), shape)
        results["nii_gz_mb"] = round((Path(folder) / "ct.nii.gz").stat().st_size / 2**20, 1)
        for name in STEPS:
            output = subprocess.run(
                [sys.executable, __file__, "--step", name, "--folder", folder],
                check=True, capture_output=True, text=True,
            ).stdout  # fmt: skip
            results[name] = json.loads(output.strip().splitlines()[-1])
            print(name, results[name], flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
