"""The training loop: phases of Adam with poly decay, iterative clicks, losses, checkpoints and resume.

Files in ``output_dir``: ``config.json`` (the config used), ``init.txt`` (what was copied or initialised
fresh), ``log.csv`` (one row per iteration and one per validation), ``loss_curve.png``, ``last.pt`` (the
full training state, for ``--resume``), ``best.pt`` (the best network by held-out NoC@90, a project
checkpoint) and, at the end, ``<name>.pt`` (the best network exported, fp16 if configured).
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from ml.data.augment import AugmentParams
from ml.data.click_dataset import ClickTrainingDataset, PooledObject
from ml.data.points_sampler import SamplerParams
from ml.data.sources import index_objects, open_instance_dataset, split_objects
from ml.evaluation.sample import Sample
from ml.model.build import arch_spec
from ml.paths import REPO_DIR
from ml.training.config import PhaseConfig, TrainConfig
from ml.training.curves import append_log, plot_loss_curve, read_log, write_log
from ml.training.forward import COARSE_KEY, freeze_batch_norm, training_forward
from ml.training.init_from_ritm import edgeflow_from_ritm
from ml.training.iterative import coord_features, iterate_clicks
from ml.training.losses import balanced_binary_cross_entropy, binary_cross_entropy, edge_target, normalized_focal_loss
from ml.training.parity import write_parity_reference
from ml.training.validation import ValidationResult, validate
from ml.weights.checkpoint import CheckpointMeta, save_checkpoint
from ml.weights.loader import load_model
from ml.weights.registry import checkpoint_path

MIN_LR_FRACTION = 0.01
POLY_POWER = 0.9


@dataclass
class Progress:
    """Counters saved with every checkpoint."""

    phase_index: int = 0
    phase_iteration: int = 0
    iteration: int = 0
    samples: int = 0
    elapsed_s: float = 0.0
    best: dict[str, float] | None = None
    best_iteration: int = -1
    validated_at: int = -1
    first: dict[str, float] | None = None  # validation before training
    last: dict[str, float] | None = None  # the most recent validation


def poly_lr(base: float, step: int, total: int, warmup: int = 0) -> float:
    """Linear warm-up, then poly decay (power 0.9) from ``base`` to 1 % of it at the end of the phase."""
    if warmup and step < warmup:
        return base * (step + 1) / warmup
    fraction = min(1.0, step / max(1, total))
    return base * (MIN_LR_FRACTION + (1.0 - MIN_LR_FRACTION) * (1.0 - fraction) ** POLY_POWER)


def _group(name: str, pretrained: set[str]) -> str:
    if name.startswith("finenet."):
        return "finenet"
    if name in pretrained:
        return "pretrained"
    return "fusion" if name.startswith("feature_extractor.warp") else "added"


class Trainer:
    """``Trainer(config).run()``; ``on_progress(done, total)`` is called after every iteration."""

    def __init__(
        self,
        config: TrainConfig,
        resume: bool = False,
        on_progress: Callable[[int, int], None] | None = None,
        progress_bar: bool = True,
    ) -> None:
        self.config = config
        self.out = _resolve(config.output_dir)
        self.out.mkdir(parents=True, exist_ok=True)
        self.on_progress = on_progress
        self.progress_bar = progress_bar
        torch.set_num_threads(config.threads)
        torch.manual_seed(config.seed)
        self.network, self.arch, self.pretrained = self._start_network()
        self.spec = arch_spec(self.arch)
        self.dataset, self.val_samples = self._open_data()
        self.progress = Progress()
        self.optimizer: torch.optim.Optimizer | None = None
        if resume and (self.out / "last.pt").is_file():
            self._load_state()
        else:
            write_log(self.out / "log.csv", [])
        (self.out / "config.json").write_text(json.dumps(config.to_dict(), indent=1) + "\n")

    # ----------------------------------------------------------------- setup
    def _start_network(self) -> tuple[nn.Module, str, set[str]]:
        if self.config.init_from_ritm:
            network, report = edgeflow_from_ritm(self.config.init_from_ritm)
            (self.out / "init.txt").write_text(report.summary() + "\n\nfresh:\n" + "\n".join(report.fresh) + "\n")
            return network, "edgeflow", set(report.copied)
        assert self.config.init_model is not None
        loaded = load_model(self.config.init_model)
        names = {n for n, _ in loaded.network.named_parameters()}
        (self.out / "init.txt").write_text(f"all {len(names)} parameters from {self.config.init_model}\n")
        return loaded.network.train(), loaded.arch, names

    def _open_data(self) -> tuple[ClickTrainingDataset, list[Sample]]:
        readers, train, validation = [], [], []
        explicit = bool(self.config.validation_datasets)
        for number, spec in enumerate(self.config.datasets):
            reader = open_instance_dataset(spec, REPO_DIR)
            objects = index_objects(reader, self.config.min_object_area)
            fraction = 0.0 if explicit else self.config.val_fraction
            kept, held_out = split_objects(reader, objects, fraction, self.config.seed)
            readers.append(reader)
            train += [PooledObject(number, ref) for ref in kept]
            validation += [(reader, ref) for ref in held_out]
        for spec in self.config.validation_datasets:
            reader = open_instance_dataset(spec, REPO_DIR)
            validation += [(reader, ref) for ref in index_objects(reader, self.config.min_object_area)]
        if not validation:
            raise ValueError("no held-out objects to validate on: add validation data or raise val_fraction")
        augment = AugmentParams(crop_size=self.config.crop_size)
        sampler = SamplerParams(max_points=self.config.max_num_points)
        dataset = ClickTrainingDataset(readers, train, 10**9, augment, sampler, seed=self.config.seed)
        rng = np.random.default_rng(self.config.seed)
        picked = sorted(rng.permutation(len(validation))[: self.config.val_max_objects].tolist())
        samples = []
        for index in picked:
            reader, ref = validation[index]
            item = reader[ref.image_index]
            mask = item.masks[ref.object_index]
            samples.append(Sample(f"{item.name}#{ref.object_index}", item.image, mask, item.ignore & ~mask))
        self.train_objects, self.val_objects = len(train), len(validation)
        return dataset, samples

    def _optimizer(self, phase: PhaseConfig) -> torch.optim.Optimizer:
        groups: dict[str, list[nn.Parameter]] = {}
        for name, param in self.network.named_parameters():
            group = _group(name, self.pretrained)
            param.requires_grad_(phase.mult(group) > 0)
            if phase.mult(group) > 0:
                groups.setdefault(group, []).append(param)
        if not groups:
            raise ValueError(f"phase {phase.name!r} trains nothing: every lr multiplier is 0")
        return torch.optim.Adam(
            [
                {"params": p, "lr": phase.lr * phase.mult(g), "base_lr": phase.lr * phase.mult(g), "name": g}
                for g, p in groups.items()
            ],
            betas=(0.9, 0.999),
            eps=1e-8,
        )

    # ----------------------------------------------------------------- state
    def _save_state(self) -> None:
        assert self.optimizer is not None
        payload = {
            "network": self.network.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "progress": asdict(self.progress),
        }
        tmp = self.out / "last.pt.tmp"
        torch.save(payload, tmp)
        os.replace(tmp, self.out / "last.pt")

    def _load_state(self) -> None:
        payload = torch.load(self.out / "last.pt", map_location="cpu", weights_only=True)
        self.network.load_state_dict(payload["network"])
        self.progress = Progress(**payload["progress"])
        phase = self.config.phases[min(self.progress.phase_index, len(self.config.phases) - 1)]
        self.optimizer = self._optimizer(phase)
        if self.progress.phase_iteration > 0:
            self.optimizer.load_state_dict(payload["optimizer"])
        rows = [r for r in read_log(self.out / "log.csv") if int(r["iteration"]) <= self.progress.iteration]
        write_log(self.out / "log.csv", rows)

    def _meta(self) -> CheckpointMeta:
        source = {
            "format": "trained",
            "path": str(self.out),
            "init": self.config.init_from_ritm or self.config.init_model or "",
            "iterations": str(self.progress.iteration),
            "samples": str(self.progress.samples),
        }
        return CheckpointMeta(name=self.config.name, arch=self.arch, prev_channel=self.spec.prev_channel, source=source)

    # ----------------------------------------------------------------- steps
    def _batch(self) -> dict[str, torch.Tensor]:
        start = self.progress.samples
        items = [self.dataset[start + j] for j in range(self.config.batch_size)]
        return {key: torch.stack([item[key] for item in items]) for key in items[0]}

    def _losses(
        self, outputs: dict[str, torch.Tensor], mask: torch.Tensor, with_finenet: bool
    ) -> dict[str, torch.Tensor]:
        weights = self.config.loss_weights
        mask_logits = outputs["instances"] if with_finenet else outputs[COARSE_KEY]
        parts = {
            "loss_mask": weights.mask * normalized_focal_loss(mask_logits, mask),
            "loss_aux": weights.aux * binary_cross_entropy(outputs["instances_aux"], mask),
        }
        if "instances_edge" in outputs:
            target = edge_target(mask, self.config.edge_width)
            parts["loss_edge"] = weights.edge * balanced_binary_cross_entropy(outputs["instances_edge"], target)
        parts["loss"] = sum(parts.values())  # type: ignore[assignment]
        return parts

    def _forward(self, with_finenet: bool) -> Callable[[torch.Tensor, torch.Tensor], dict[str, torch.Tensor]]:
        def forward(image: torch.Tensor, features: torch.Tensor) -> dict[str, torch.Tensor]:
            outputs = training_forward(self.network, image, features, with_finenet and self.network.finenet is not None)
            outputs.setdefault("instances", outputs[COARSE_KEY])
            return outputs

        return forward

    def _train_step(self, phase: PhaseConfig, with_finenet: bool) -> dict[str, float]:
        assert self.optimizer is not None
        batch = self._batch()
        rng = np.random.default_rng([self.config.seed, 1, self.progress.iteration])
        num_iters = int(rng.integers(0, self.config.max_num_next_clicks + 1))
        forward = self._forward(with_finenet)
        prev_key = "instances_edge" if self.spec.prev_channel == "edge" else "instances"
        points, prev = batch["points"], torch.zeros_like(batch["mask"])
        if num_iters:
            self.network.eval()
            points, prev = iterate_clicks(
                forward, batch["image"], batch["mask"], points, num_iters, "instances", prev_key, rng
            )
        self.network.train()
        freeze_batch_norm(self.network)
        lr = poly_lr(phase.lr, self.progress.phase_iteration, phase.iterations, phase.warmup_iterations)
        for group in self.optimizer.param_groups:
            group["lr"] = group["base_lr"] * lr / phase.lr
        outputs = forward(batch["image"], coord_features(points, prev))
        losses = self._losses(outputs, batch["mask"], with_finenet)
        self.optimizer.zero_grad(set_to_none=True)
        losses["loss"].backward()
        self.optimizer.step()
        return {"lr": lr, "clicks_fed_back": num_iters, **{k: float(v.detach()) for k, v in losses.items()}}

    def _validate(self, phase_name: str) -> ValidationResult:
        result = validate(self.network, self.arch, self.val_samples, self.config.val_max_clicks)
        self.progress.validated_at = self.progress.iteration
        self.progress.last = asdict(result)
        if self.progress.first is None:
            self.progress.first = asdict(result)
        self.network.train()
        freeze_batch_norm(self.network)
        best = ValidationResult(**self.progress.best) if self.progress.best else None
        if result.better_than(best):
            self.progress.best = asdict(result)
            self.progress.best_iteration = self.progress.iteration
            save_checkpoint(self.out / "best.pt", self.network, self._meta())
        row = {
            "iteration": self.progress.iteration,
            "phase": phase_name,
            "samples": self.progress.samples,
            "elapsed_s": round(self.progress.elapsed_s, 1),
            "val_noc85": round(result.noc85, 3),
            "val_noc90": round(result.noc90, 3),
            "val_miou": round(result.miou, 4),
        }
        append_log(self.out / "log.csv", row)
        return result

    # ----------------------------------------------------------------- loop
    def _over_budget(self) -> bool:
        budget = self.config.time_budget_minutes
        return budget is not None and self.progress.elapsed_s >= budget * 60.0

    def run(self) -> Progress:
        """Train every phase (or until the time budget), validate, checkpoint, and export the best network."""
        total = self.config.total_iterations
        started = time.monotonic() - self.progress.elapsed_s
        bar = tqdm(
            total=total, initial=self.progress.iteration, disable=not self.progress_bar, unit="it", dynamic_ncols=True
        )
        if self.progress.iteration == 0 and self.progress.best is None:
            self._validate("start")
        stopped = False
        while self.progress.phase_index < len(self.config.phases) and not stopped:
            phase = self.config.phases[self.progress.phase_index]
            if self.optimizer is None or self.progress.phase_iteration == 0:
                self.optimizer = self._optimizer(phase)
            with_finenet = phase.mult("finenet") > 0
            while self.progress.phase_iteration < phase.iterations:
                if self._over_budget():
                    stopped = True
                    break
                stats = self._train_step(phase, with_finenet)
                self.progress.iteration += 1
                self.progress.phase_iteration += 1
                self.progress.samples += self.config.batch_size
                self.progress.elapsed_s = time.monotonic() - started
                row = {"iteration": self.progress.iteration, "phase": phase.name, "samples": self.progress.samples}
                row |= {"elapsed_s": round(self.progress.elapsed_s, 1), "lr": f"{stats['lr']:.3g}"}
                row |= {k: round(stats[k], 5) for k in ("loss", "loss_mask", "loss_edge", "loss_aux") if k in stats}
                append_log(self.out / "log.csv", row)
                bar.update(1)
                bar.set_postfix(phase=phase.name, loss=f"{stats['loss']:.4f}")
                if self.on_progress:
                    self.on_progress(self.progress.iteration, total)
                if self.progress.iteration % self.config.val_every == 0:
                    self._validate(phase.name)
                    self.progress.elapsed_s = time.monotonic() - started
                if self.progress.iteration % self.config.checkpoint_every == 0:
                    self._save_state()
            if not stopped:
                self.progress.phase_index += 1
                self.progress.phase_iteration = 0
        bar.close()
        if self.progress.validated_at != self.progress.iteration:
            self._validate(self.config.phases[min(self.progress.phase_index, len(self.config.phases) - 1)].name)
        self.progress.elapsed_s = time.monotonic() - started
        if self.optimizer is not None:
            self._save_state()
        plot_loss_curve(read_log(self.out / "log.csv"), self.out / "loss_curve.png", f"training {self.config.name}")
        self.export(self.out / f"{self.config.name}.pt")
        return self.progress

    def export(self, path: Path) -> Path:
        """Write the best (or, with ``export: "last"``, the final) network as a project checkpoint (fp16 conv
        weights if configured) and the fp32 network's reference outputs beside it (``.parity.npz``)."""
        from ml.weights.formats import load_weights_file

        if self.config.export == "last":
            network, meta = self.network, CheckpointMeta(**{**asdict(self._meta()), "name": path.stem})
        else:
            best = load_weights_file(self.out / "best.pt", self.arch)
            network = best.network
            meta = CheckpointMeta(**{**asdict(best.meta), "name": path.stem}) if best.meta else self._meta()
        save_checkpoint(path, network, meta, half=self.config.half_precision_export)
        write_parity_reference(network, path.with_suffix(".parity.npz"))
        return path


def register(exported: Path, name: str | None = None) -> Path:
    """Copy an exported checkpoint into the model registry (``<var>/models/<name>.pt``)."""
    target = checkpoint_path(name or exported.stem)
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(exported, target)
    return target


def _resolve(path: str) -> Path:
    resolved = Path(path).expanduser()
    return resolved if resolved.is_absolute() else REPO_DIR / resolved
