"""Opening a dataset from the command-line arguments: a benchmark folder or a COCO JSON."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ml.evaluation.coco import CocoDataset
from ml.evaluation.folder import FolderDataset
from ml.evaluation.sample import Sample


def open_dataset(path: str | Path, images: str | Path | None = None, min_area: float = 1.0) -> Sequence[Sample]:
    """``path`` is a folder with ``images/`` + ``masks/``, or a COCO instances JSON whose images are in
    ``images`` (default: ``images/`` next to the JSON, or next to its ``annotations/`` folder).

    Every sample is one object: a folder's single-object mask file is one sample, a palette PNG (DAVIS,
    Pascal VOC) one sample per object index, 255 void (see :mod:`ml.evaluation.folder`); a COCO JSON gives
    one sample per non-crowd instance.
    """
    path = Path(path)
    if path.is_dir():
        return FolderDataset(path)
    if path.suffix.lower() != ".json" or not path.is_file():
        raise FileNotFoundError(f"{path} is neither a dataset folder nor a COCO JSON file")
    return CocoDataset(path, images or _default_coco_images(path), min_area=min_area)


def _default_coco_images(annotations: Path) -> Path:
    for candidate in (annotations.parent / "images", annotations.parent.parent / "images"):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"pass --images: no images/ folder found next to {annotations}")
