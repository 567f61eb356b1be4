"""YOLO segmentation labels: ``labels/<split>/<stem>.txt`` with ``class x1 y1 x2 y2 ...`` normalised to [0, 1].

Images are found in the parallel ``images/<split>/`` folder. Images without a label file have no objects
and are skipped; label files without an image are an error listed once at opening.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from ml.data.instances import InstanceImage, stack_masks
from ml.evaluation.images import IMAGE_EXTENSIONS, read_rgb


def parse_polygons(text: str, source: str = "") -> list[np.ndarray]:
    """Each non-empty line → an N×2 float array of normalised (x, y) vertices (the class id is dropped)."""
    polygons = []
    for number, line in enumerate(text.splitlines(), 1):
        values = line.split()
        if not values:
            continue
        coords = values[1:]
        if len(coords) < 6 or len(coords) % 2:
            raise ValueError(f"{source}:{number}: a polygon needs an even number (≥ 6) of coordinates")
        try:
            polygons.append(np.asarray(coords, dtype=np.float64).reshape(-1, 2))
        except ValueError as exc:
            raise ValueError(f"{source}:{number}: {exc}") from None
    return polygons


def rasterize(polygon: np.ndarray, height: int, width: int) -> np.ndarray:
    """Fill a normalised polygon at pixel resolution (bool H×W)."""
    points = np.round(polygon * np.array([width, height]) - 0.5).astype(np.int32)
    mask = np.zeros((height, width), dtype=np.uint8)
    cv2.fillPoly(mask, [points], 1)
    return mask.astype(bool)


def polygon_area(polygon: np.ndarray) -> float:
    """Shoelace area in normalised units."""
    x, y = polygon[:, 0], polygon[:, 1]
    return float(abs(np.dot(x, np.roll(y, 1)) - np.dot(y, np.roll(x, 1))) / 2.0)


class YoloSegReader:
    """``root/images/<split>`` + ``root/labels/<split>`` (split ``train2017`` for coco128-seg)."""

    def __init__(self, root: str | Path, split: str = "train2017") -> None:
        root = Path(root)
        self.name = root.name
        images_dir, labels_dir = root / "images" / split, root / "labels" / split
        for directory in (images_dir, labels_dir):
            if not directory.is_dir():
                raise FileNotFoundError(f"missing folder {directory}")
        images = {p.stem: p for p in images_dir.iterdir() if p.suffix.lower() in IMAGE_EXTENSIONS}
        labels = sorted(p for p in labels_dir.glob("*.txt") if p.stem in images)
        self.pairs = [(images[p.stem], p) for p in labels]
        self.unmatched_labels = sorted(p.name for p in labels_dir.glob("*.txt") if p.stem not in images)
        self._polygons = [parse_polygons(label.read_text(), str(label)) for _, label in self.pairs]

    def __len__(self) -> int:
        return len(self.pairs)

    def __getitem__(self, index: int) -> InstanceImage:
        image_path, _ = self.pairs[index]
        image = read_rgb(image_path)
        height, width = image.shape[:2]
        masks = stack_masks([rasterize(p, height, width) for p in self._polygons[index]], height, width)
        return InstanceImage(image_path.stem, image, masks, np.zeros((height, width), dtype=bool))

    def object_areas(self, index: int) -> Sequence[float]:
        """Areas in pixels, from the polygons and the image size (read from the header only)."""
        image_path, _ = self.pairs[index]
        height, width = _image_size(image_path)
        return [polygon_area(p) * height * width for p in self._polygons[index]]

    def image_name(self, index: int) -> str:
        return self.pairs[index][0].stem


def _image_size(path: Path) -> tuple[int, int]:
    from PIL import Image

    with Image.open(path) as image:
        return image.height, image.width
