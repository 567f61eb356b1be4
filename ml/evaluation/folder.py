"""The benchmark folder layout: ``images/`` and ``masks/`` matched by file stem.

A sample is one object, as for COCO (one sample per instance): a single-object mask file (greyscale,
0/128/255 trimap, colour) is one sample named after the image; a palette PNG (DAVIS, Pascal VOC) is one
sample per object index present (1..254, in index order) named ``<image stem>#<index>``, with index 255
(void) ignored and the other objects counting as background. A palette frame without objects gives no sample.
"""

from __future__ import annotations

from pathlib import Path

from ml.evaluation.images import IMAGE_EXTENSIONS, palette_object_ids, read_object_mask, read_rgb
from ml.evaluation.sample import Sample


def _index_by_stem(directory: Path) -> dict[str, Path]:
    if not directory.is_dir():
        raise FileNotFoundError(f"missing folder {directory}")
    index: dict[str, Path] = {}
    for path in sorted(directory.iterdir()):
        if path.name.startswith(".") or path.suffix.lower() not in IMAGE_EXTENSIONS:
            continue
        key = path.stem.lower()
        if key in index:
            raise ValueError(f"two files share the stem {key!r} in {directory}: {index[key].name}, {path.name}")
        index[key] = path
    return index


def image_mask_pairs(root: Path) -> list[tuple[Path, Path]]:
    """``(image, mask)`` files of ``root/images`` and ``root/masks`` by stem (case-insensitive), sorted;
    an image without a mask (or a mask without an image) is an error."""
    images = _index_by_stem(root / "images")
    masks = _index_by_stem(root / "masks")
    unmatched = sorted(set(images) ^ set(masks))
    if unmatched:
        raise ValueError(f"{root}: no image/mask partner for {', '.join(unmatched[:10])}")
    return [(images[key], masks[key]) for key in sorted(images)]


class FolderDataset:
    """``root/images/*`` + ``root/masks/*``: ``pairs`` lists the files, the items are the samples (objects).

    Palette masks are decoded once here to list their objects; other masks are only read per sample.
    """

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.pairs = image_mask_pairs(self.root)
        self.samples: list[tuple[int, int | None]] = []
        for pair_index, (_, mask_path) in enumerate(self.pairs):
            ids = palette_object_ids(mask_path)
            self.samples += [(pair_index, None)] if ids is None else [(pair_index, i) for i in ids]
        self.name = self.root.name

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> Sample:
        pair_index, object_id = self.samples[index]
        image_path, mask_path = self.pairs[pair_index]
        mask, ignore = read_object_mask(mask_path, object_id)
        name = image_path.stem if object_id is None else f"{image_path.stem}#{object_id}"
        return Sample(name=name, image=read_rgb(image_path), mask=mask, ignore=ignore)
