"""``images/`` + ``masks/`` matched by file stem (ECSSD, the benchmark layout, DAVIS, Pascal VOC).

The masks are read by the evaluation's reader (:func:`ml.evaluation.images.read_mask_objects`), so training
and evaluation agree: a single-object file is one object, a palette PNG one object per index 1..254, with
index 255 (void) and GrabCut's 128 band ignored.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ml.data.instances import InstanceImage
from ml.evaluation.folder import image_mask_pairs
from ml.evaluation.images import read_mask_objects, read_rgb


class MaskFolderReader:
    """One item per image, with every object of its mask file."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.pairs = image_mask_pairs(self.root)
        self.name = self.root.name

    def __len__(self) -> int:
        return len(self.pairs)

    def __getitem__(self, index: int) -> InstanceImage:
        image_path, mask_path = self.pairs[index]
        objects = read_mask_objects(mask_path)
        return InstanceImage(image_path.stem, read_rgb(image_path), objects.masks, objects.ignore)

    def object_areas(self, index: int) -> Sequence[float]:
        """The area of each object (decodes the mask file only)."""
        return [float(area) for area in read_mask_objects(self.pairs[index][1]).masks.sum(axis=(1, 2))]

    def image_name(self, index: int) -> str:
        return self.pairs[index][0].stem
