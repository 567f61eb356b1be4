"""``images/`` + ``masks/`` matched by file stem, one object per image (ECSSD, the benchmark layout)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ml.data.instances import InstanceImage
from ml.evaluation.folder import FolderDataset
from ml.evaluation.images import read_object_mask


class MaskFolderReader:
    """Every mask file is one object; GrabCut-style 128 "unknown" bands become ignored pixels."""

    def __init__(self, root: str | Path) -> None:
        self.folder = FolderDataset(root)
        self.name = self.folder.name

    def __len__(self) -> int:
        return len(self.folder)

    def __getitem__(self, index: int) -> InstanceImage:
        sample = self.folder[index]
        return InstanceImage(sample.name, sample.image, sample.mask[None], sample.ignore)

    def object_areas(self, index: int) -> Sequence[float]:
        """One object per image (decodes the mask file only)."""
        mask, _ = read_object_mask(self.folder.pairs[index][1])
        return [float(mask.sum())]

    def image_name(self, index: int) -> str:
        return self.folder.pairs[index][0].stem
