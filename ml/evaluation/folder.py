"""The benchmark folder layout: ``images/`` and ``masks/`` matched by file stem, one object per mask."""

from __future__ import annotations

from pathlib import Path

from ml.evaluation.images import IMAGE_EXTENSIONS, read_object_mask, read_rgb
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


class FolderDataset:
    """``root/images/*`` + ``root/masks/*``; images without a mask (or masks without an image) are an error."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        images = _index_by_stem(self.root / "images")
        masks = _index_by_stem(self.root / "masks")
        unmatched = sorted(set(images) ^ set(masks))
        if unmatched:
            raise ValueError(f"{self.root}: no image/mask partner for {', '.join(unmatched[:10])}")
        self.pairs = [(images[key], masks[key]) for key in sorted(images)]
        self.name = self.root.name

    def __len__(self) -> int:
        return len(self.pairs)

    def __getitem__(self, index: int) -> Sample:
        image_path, mask_path = self.pairs[index]
        mask, ignore = read_object_mask(mask_path)
        return Sample(name=image_path.stem, image=read_rgb(image_path), mask=mask, ignore=ignore)
