"""The label-map exports (masks, VOC) of one huge image: seconds and peak memory of the exporting process.

    python bench/large_export.py --size 20000x20000 --format masks|voc [--json OUT]

A project on a throwaway SQLite database in a temporary folder: one image row of the given size (its file is not
needed: the label maps are painted from the objects' stored masks alone) with two large overlapping disc objects,
exported without image files. Prints `seconds`, `bytes` (the entries written), `peak_rss_mb` (the process's peak
resident memory, `ru_maxrss`, with `peak_rss_mb_before` the peak before the export began).
"""

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent


def disc_rle(height: int, width: int, cy: int, cx: int, radius: int) -> dict:
    """The COCO RLE of a disc, column by column (never the whole mask in memory)."""
    counts, position = [], 0  # position: column-major index where the current run of zeros began
    for x in range(width):
        dx = x - cx
        if abs(dx) >= radius:
            continue
        half = int(np.sqrt(radius * radius - dx * dx))
        top, bottom = max(0, cy - half), min(height, cy + half + 1)
        start = x * height + top
        counts += [start - position, bottom - top]
        position = x * height + bottom
    counts.append(height * width - position)
    from pycocotools import mask as mask_utils

    rle = mask_utils.frPyObjects({"size": [height, width], "counts": counts}, height, width)
    return {"size": rle["size"], "counts": rle["counts"].decode()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", default="20000x20000", help="WIDTHxHEIGHT of the image")
    parser.add_argument("--format", default="masks", choices=["masks", "voc"])
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.lower().split("x"))
    folder = Path(tempfile.mkdtemp(prefix="edgeflow-large-export-"))
    os.environ["DATABASE_URL"] = f"sqlite:///{folder / 'db.sqlite3'}"
    os.environ["EDGEFLOW_VAR_DIR"] = str(folder)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.config.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    from backend.annotations.models import AnnotationObject
    from backend.exports.formats import FORMATS, contents_for
    from backend.images.models import Image
    from backend.projects.models import LabelClass, Project

    call_command("migrate", verbosity=0)
    project = Project.objects.create(name="large export")
    label = LabelClass.objects.create(project=project, name="field", color="#ff0000")
    image = Image.objects.create(
        project=project, file="big.jpg", thumbnail="big-thumb.jpg", original_name="big.jpg", width=width,
        height=height, format="JPEG", size_bytes=1, sha256="0" * 64,
    )  # fmt: skip
    discs = [(height * 9 // 20, width * 11 // 20, min(width, height) * 3 // 10),
             (height * 3 // 5, width * 2 // 5, min(width, height) * 3 // 20)]  # fmt: skip
    for number, (cy, cx, radius) in enumerate(discs, start=1):
        rle = disc_rle(height, width, cy, cx, radius)
        AnnotationObject.objects.create(
            image=image, number=number, label=label, mask_rle=rle, polygons=[], bbox=[0, 0, 1, 1], area=1
        )
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    fmt = FORMATS[args.format]
    start = time.perf_counter()
    written = sum(len(data) for _, data in fmt.files(contents_for(fmt, project=project, images=Image.objects.all())))
    figures = {
        "format": args.format,
        "size": f"{width}x{height}",
        "seconds": round(time.perf_counter() - start, 2),
        "bytes": written,
        "peak_rss_mb_before": round(before),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }
    print(json.dumps(figures, indent=1))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1) + "\n")


if __name__ == "__main__":
    main()
