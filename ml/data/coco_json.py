"""COCO instance annotations (polygons or RLE) through pycocotools: all non-crowd objects of each image."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from pycocotools.coco import COCO

from ml.data.instances import InstanceImage, stack_masks
from ml.evaluation.images import read_rgb


class CocoJsonReader:
    """Images of ``annotations`` that have at least one non-crowd object; crowd regions are ignored."""

    def __init__(self, annotations: str | Path, images_dir: str | Path) -> None:
        self.coco = COCO(str(annotations))
        self.images_dir = Path(images_dir)
        if not self.images_dir.is_dir():
            raise FileNotFoundError(f"missing image folder {self.images_dir}")
        self.name = Path(annotations).stem
        self.image_ids = sorted(
            image_id for image_id, anns in self.coco.imgToAnns.items() if any(not a.get("iscrowd", 0) for a in anns)
        )

    def __len__(self) -> int:
        return len(self.image_ids)

    def _annotations(self, index: int) -> tuple[list[dict], list[dict]]:
        anns = sorted(self.coco.imgToAnns[self.image_ids[index]], key=lambda a: a["id"])
        return [a for a in anns if not a.get("iscrowd", 0)], [a for a in anns if a.get("iscrowd", 0)]

    def __getitem__(self, index: int) -> InstanceImage:
        info = self.coco.loadImgs(self.image_ids[index])[0]
        image = read_rgb(self.images_dir / info["file_name"])
        height, width = image.shape[:2]
        objects, crowds = self._annotations(index)
        masks = stack_masks([self._mask(a, height, width) for a in objects], height, width)
        ignore = np.zeros((height, width), dtype=bool)
        for crowd in crowds:
            ignore |= self._mask(crowd, height, width)
        return InstanceImage(Path(info["file_name"]).stem, image, masks, ignore & ~masks.any(axis=0))

    def _mask(self, ann: dict, height: int, width: int) -> np.ndarray:
        mask = self.coco.annToMask(ann).astype(bool)
        if mask.shape != (height, width):
            raise ValueError(f"annotation {ann['id']}: mask {mask.shape} but the image is {(height, width)}")
        return mask

    def object_areas(self, index: int) -> Sequence[float]:
        objects, _ = self._annotations(index)
        return [float(a.get("area", 0.0)) for a in objects]

    def image_name(self, index: int) -> str:
        return Path(self.coco.loadImgs(self.image_ids[index])[0]["file_name"]).stem
