"""Opening training data from a config entry, indexing its objects and splitting off a validation slice."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from ml.data.coco_json import CocoJsonReader
from ml.data.instances import InstanceReader, ObjectRef
from ml.data.mask_folder import MaskFolderReader
from ml.data.yolo_seg import YoloSegReader

DatasetKind = Literal["mask_folder", "yolo_seg", "coco_json"]


@dataclass(frozen=True)
class DatasetSpec:
    """Where one training set lives and how it is laid out.

    ``kind``: ``mask_folder`` (``path`` holds ``images/`` + ``masks/``), ``yolo_seg`` (``path`` holds
    ``images/<split>`` + ``labels/<split>``) or ``coco_json`` (``path`` is the JSON, ``images`` its folder).
    """

    kind: DatasetKind
    path: str
    images: str | None = None
    split: str = "train2017"

    @classmethod
    def from_dict(cls, data: dict) -> DatasetSpec:
        unknown = set(data) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"unknown dataset keys {sorted(unknown)}")
        return cls(**data)


def open_instance_dataset(spec: DatasetSpec, base_dir: Path | None = None) -> InstanceReader:
    """The reader for ``spec``; relative paths are resolved against ``base_dir``."""
    path = _resolve(spec.path, base_dir)
    if spec.kind == "mask_folder":
        return MaskFolderReader(path)
    if spec.kind == "yolo_seg":
        return YoloSegReader(path, spec.split)
    if spec.kind == "coco_json":
        if spec.images is None:
            raise ValueError(f"coco_json dataset {spec.path}: 'images' (the image folder) is required")
        return CocoJsonReader(path, _resolve(spec.images, base_dir))
    raise ValueError(f"unknown dataset kind {spec.kind!r}: use mask_folder, yolo_seg or coco_json")


def _resolve(path: str, base_dir: Path | None) -> Path:
    resolved = Path(path).expanduser()
    return resolved if resolved.is_absolute() or base_dir is None else base_dir / resolved


def is_validation(name: str, fraction: float, seed: int = 0) -> bool:
    """Deterministic split by image name (stable when files are added)."""
    digest = hashlib.sha1(f"{seed}:{name}".encode()).digest()
    return int.from_bytes(digest[:4], "big") / 2**32 < fraction


def index_objects(reader: InstanceReader, min_area: float) -> list[ObjectRef]:
    """Every object of at least ``min_area`` pixels."""
    return [
        ObjectRef(index, obj)
        for index in range(len(reader))
        for obj, area in enumerate(reader.object_areas(index))
        if area >= min_area
    ]


def split_objects(
    reader: InstanceReader, objects: Sequence[ObjectRef], fraction: float, seed: int = 0
) -> tuple[list[ObjectRef], list[ObjectRef]]:
    """(train, validation): all objects of an image go to the same side."""
    train: list[ObjectRef] = []
    validation: list[ObjectRef] = []
    for ref in objects:
        side = validation if is_validation(reader.image_name(ref.image_index), fraction, seed) else train
        side.append(ref)
    return train, validation
