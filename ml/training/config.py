"""The training config: a JSON file (see ``ml/configs/*.json``) read into :class:`TrainConfig`.

Relative dataset paths and ``output_dir`` are resolved against the repository root.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ml.data.sources import DatasetSpec

PARAM_GROUPS = ("pretrained", "fusion", "added", "finenet")


@dataclass(frozen=True)
class PhaseConfig:
    """One training phase: ``iterations`` steps of Adam with poly decay from ``lr`` to 1 % of it.

    ``lr_mults`` scales ``lr`` per parameter group: ``pretrained`` (tensors copied from the starting model),
    ``fusion`` (EdgeFlow's two flow-aligned fusions, ``warp*``), ``added`` (the other CoarseNet parts EdgeFlow
    adds: the edge head) and ``finenet``. A missing or zero multiplier freezes the group; with FineNet frozen
    the mask loss applies to the coarse output and FineNet is not run.
    """

    name: str
    iterations: int
    lr: float = 5e-4
    lr_mults: dict[str, float] = field(default_factory=lambda: {"pretrained": 0.1, "added": 1.0, "finenet": 1.0})
    warmup_iterations: int = 0

    def __post_init__(self) -> None:
        unknown = set(self.lr_mults) - set(PARAM_GROUPS)
        if unknown:
            raise ValueError(f"phase {self.name!r}: unknown parameter groups {sorted(unknown)}; use {PARAM_GROUPS}")
        if self.iterations < 0 or self.lr <= 0:
            raise ValueError(f"phase {self.name!r}: iterations must be ≥ 0 and lr > 0")

    def mult(self, group: str) -> float:
        return float(self.lr_mults.get(group, 0.0))


@dataclass(frozen=True)
class LossWeights:
    mask: float = 1.0
    edge: float = 0.4
    aux: float = 0.4


@dataclass(frozen=True)
class TrainConfig:
    """Everything a training run needs (see the field comments)."""

    name: str  # registered name of the result
    datasets: list[DatasetSpec]
    phases: list[PhaseConfig]
    validation_datasets: list[DatasetSpec] = field(default_factory=list)  # held out explicitly (else split)
    init_from_ritm: str | None = "hrnet18-ocr64-cocolvis"  # build EdgeFlow from this RITM model ...
    init_model: str | None = None  # ... or continue from this registered model (fine-tuning)
    output_dir: str = "var/training/run"
    batch_size: int = 2
    crop_size: tuple[int, int] = (320, 480)
    min_object_area: float = 1000.0
    max_num_points: int = 24
    max_num_next_clicks: int = 3
    edge_width: int = 5
    loss_weights: LossWeights = field(default_factory=LossWeights)
    val_fraction: float = 0.05
    val_max_objects: int = 20
    val_max_clicks: int = 5
    val_every: int = 100
    checkpoint_every: int = 25
    time_budget_minutes: float | None = None
    threads: int = 1
    seed: int = 0
    half_precision_export: bool = True
    export: str = "best"  # "best" (by held-out NoC@90) or "last" (the network at the end)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        data = dict(data)
        unknown = set(data) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"unknown config keys {sorted(unknown)}")
        if data.get("init_model"):
            if data.get("init_from_ritm"):
                raise ValueError("set only one of init_from_ritm and init_model")
            data["init_from_ritm"] = None
        data["datasets"] = [DatasetSpec.from_dict(d) for d in data.get("datasets", [])]
        data["validation_datasets"] = [DatasetSpec.from_dict(d) for d in data.get("validation_datasets", [])]
        data["phases"] = [PhaseConfig(**p) for p in data.get("phases", [])]
        if "loss_weights" in data:
            data["loss_weights"] = LossWeights(**data["loss_weights"])
        if "crop_size" in data:
            data["crop_size"] = tuple(int(v) for v in data["crop_size"])
        config = cls(**data)
        if not config.datasets or not config.phases:
            raise ValueError("a config needs at least one dataset and one phase")
        if config.export not in ("best", "last"):
            raise ValueError(f"export must be 'best' or 'last', not {config.export!r}")
        return config

    @classmethod
    def load(cls, path: str | Path) -> TrainConfig:
        try:
            return cls.from_dict(json.loads(Path(path).read_text()))
        except (TypeError, json.JSONDecodeError) as exc:
            raise ValueError(f"{path}: {exc}") from exc

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def total_iterations(self) -> int:
        return sum(p.iterations for p in self.phases)
