"""COCO instance annotations (pycocotools): one sample per non-crowd instance."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from pycocotools.coco import COCO

from ml.evaluation.images import read_rgb
from ml.evaluation.sample import Sample


class CocoDataset:
    """Instances of ``annotations`` (a COCO JSON) whose images live in ``images_dir``.

    Crowd regions of the same image are ignored (neither scored nor clicked); instances smaller than
    ``min_area`` pixels are skipped.
    """

    def __init__(self, annotations: str | Path, images_dir: str | Path, min_area: float = 1.0) -> None:
        self.coco = COCO(str(annotations))
        self.images_dir = Path(images_dir)
        self.name = Path(annotations).stem
        self.annotation_ids = [
            ann["id"]
            for ann in sorted(self.coco.dataset.get("annotations", []), key=lambda a: (a["image_id"], a["id"]))
            if not ann.get("iscrowd", 0) and ann.get("area", 0) >= min_area
        ]

    def __len__(self) -> int:
        return len(self.annotation_ids)

    def __getitem__(self, index: int) -> Sample:
        ann = self.coco.loadAnns(self.annotation_ids[index])[0]
        info = self.coco.loadImgs(ann["image_id"])[0]
        image = read_rgb(self.images_dir / info["file_name"])
        mask = self.coco.annToMask(ann).astype(bool)
        crowd = self._crowd_region(ann["image_id"], mask.shape)
        return Sample(name=f"{Path(info['file_name']).stem}#{ann['id']}", image=image, mask=mask, ignore=crowd & ~mask)

    def _crowd_region(self, image_id: int, shape: tuple[int, ...]) -> np.ndarray:
        region = np.zeros(shape, dtype=bool)
        for ann in self.coco.imgToAnns.get(image_id, []):
            if ann.get("iscrowd", 0):
                region |= self.coco.annToMask(ann).astype(bool)
        return region
