"""The torch ``Dataset`` of training samples: one augmented crop, one target object, its sampled clicks.

Sample ``i`` is a pure function of ``(seed, i)``: the object is drawn at random from the pool (with
RITM's 15 % chance of merging it with a second object of the same image), augmented and given clicks.
An "epoch" is just ``epoch_len`` indices, so training resumes exactly by continuing the index stream.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.data import Dataset

from ml.data.augment import AugmentParams, augment
from ml.data.instances import InstanceReader, ObjectRef
from ml.data.points_sampler import SamplerParams, sample_points
from ml.weights.checkpoint import IMAGENET_MEAN, IMAGENET_STD

IGNORE_LABEL = -1.0


@dataclass(frozen=True)
class PooledObject:
    """An object of one of several readers."""

    reader: int
    ref: ObjectRef


def normalise(image: np.ndarray) -> torch.Tensor:
    """RGB uint8 h×w×3 → 3×h×w float32 ``(x / 255 - mean) / std`` (ImageNet statistics)."""
    mean = np.asarray(IMAGENET_MEAN, np.float32)
    std = np.asarray(IMAGENET_STD, np.float32)
    return torch.from_numpy(np.ascontiguousarray(((image.astype(np.float32) / 255.0 - mean) / std).transpose(2, 0, 1)))


class ClickTrainingDataset(Dataset):
    """``dataset[i]`` → ``{"image": 3×h×w, "mask": 1×h×w (1 object, 0 background, -1 ignored), "points": P×3}``."""

    def __init__(
        self,
        readers: Sequence[InstanceReader],
        objects: Sequence[PooledObject],
        epoch_len: int,
        augment_params: AugmentParams | None = None,
        sampler_params: SamplerParams | None = None,
        merge_objects_prob: float = 0.15,
        seed: int = 0,
    ) -> None:
        if not objects:
            raise ValueError("no training objects: check the datasets and min_object_area")
        self.readers = list(readers)
        self.objects = list(objects)
        self.epoch_len = epoch_len
        self.augment_params = augment_params or AugmentParams()
        self.sampler_params = sampler_params or SamplerParams()
        self.merge_objects_prob = merge_objects_prob
        self.seed = seed

    def __len__(self) -> int:
        return self.epoch_len

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        rng = np.random.default_rng([self.seed, index])
        pooled = self.objects[int(rng.integers(len(self.objects)))]
        item = self.readers[pooled.reader][pooled.ref.image_index]
        target = item.masks[pooled.ref.object_index].copy()
        if len(item.masks) > 1 and rng.random() < self.merge_objects_prob:
            extra = int(rng.integers(len(item.masks) - 1))
            target |= item.masks[extra if extra < pooled.ref.object_index else extra + 1]
        others = item.masks.any(axis=0) & ~target
        crop = augment(item.image, target, others, item.ignore, self.augment_params, rng)
        points = sample_points(crop.target, crop.others, ~crop.ignore, self.sampler_params, rng)
        mask = crop.target.astype(np.float32)
        mask[crop.ignore & ~crop.target] = IGNORE_LABEL
        return {
            "image": normalise(crop.image),
            "mask": torch.from_numpy(mask)[None],
            "points": torch.from_numpy(points),
        }
