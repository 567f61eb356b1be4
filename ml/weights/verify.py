"""Compare a network's outputs with a reference ``.npz`` fixture (see ``shared/fixtures/README.md``).

A fixture holds ``image_uint8`` (H×W×3 RGB, or N×H×W×3), ``coord_features`` (3×H×W or N×3×H×W) and
reference logits named like the outputs (``instances``, ``instances_aux``, ``instances_edge``) or by
position (``out0``, ``out1``, ``out2``, the order of a static model's fetch targets).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ml.model.build import arch_spec
from ml.model.loaded import LoadedModel

DEFAULT_ATOL = 1e-3
_POSITIONAL = re.compile(r"^out(\d+)$")


@dataclass(frozen=True)
class OutputDiff:
    """One compared output."""

    output: str
    key: str
    max_abs_diff: float
    tolerance: float

    @property
    def ok(self) -> bool:
        return self.max_abs_diff <= self.tolerance


def tolerance_for(reference: np.ndarray, atol: float = DEFAULT_ATOL) -> float:
    """``atol`` on logits, scaled by the reference's largest magnitude when it exceeds 1."""
    return atol * max(1.0, float(np.abs(reference).max(initial=0.0)))


def fixture_inputs(data: dict[str, np.ndarray], model: LoadedModel) -> tuple[torch.Tensor, torch.Tensor]:
    """Normalised NCHW image and NCHW coord features, float32."""
    image = np.asarray(data["image_uint8"], dtype=np.float32) / 255.0
    if image.ndim == 3:
        image = image[None]
    image = (image - np.asarray(model.mean, np.float32)) / np.asarray(model.std, np.float32)
    coords = np.asarray(data["coord_features"], dtype=np.float32)
    if coords.ndim == 3:
        coords = coords[None]
    return torch.from_numpy(np.ascontiguousarray(image.transpose(0, 3, 1, 2))), torch.from_numpy(coords)


def reference_outputs(data: dict[str, np.ndarray], arch: str) -> dict[str, tuple[str, np.ndarray]]:
    """Map fixture keys onto output names: ``{output: (npz key, array)}``."""
    names = arch_spec(arch).outputs
    refs: dict[str, tuple[str, np.ndarray]] = {}
    for key, value in data.items():
        match = _POSITIONAL.match(key)
        if match:
            index = int(match.group(1))
            if index >= len(names):
                raise ValueError(f"fixture key {key!r}: architecture {arch!r} has only {len(names)} outputs")
            refs[names[index]] = (key, value)
        elif key.startswith("instances"):
            if key not in names:
                raise ValueError(f"fixture key {key!r} is not an output of {arch!r} ({', '.join(names)})")
            refs[key] = (key, value)
    if not refs:
        raise ValueError("the fixture holds no reference outputs (instances*/out<N> keys)")
    return refs


def run_fixture(model: LoadedModel, path: Path, atol: float = DEFAULT_ATOL) -> list[OutputDiff]:
    """Run the bare network on the fixture's inputs and compare every reference output."""
    with np.load(path) as archive:
        data = {key: archive[key] for key in archive.files}
    image, coords = fixture_inputs(data, model)
    refs = reference_outputs(data, model.arch)
    with torch.inference_mode():
        outputs = model.network(image, coords)
    diffs = []
    for name, (key, reference) in refs.items():
        produced = outputs[name].numpy()
        reference = np.asarray(reference, dtype=np.float32)
        if produced.size != reference.size:
            raise ValueError(f"{key}: fixture shape {reference.shape}, network output {tuple(produced.shape)}")
        diff = float(np.abs(produced.reshape(reference.shape) - reference).max())
        diffs.append(OutputDiff(name, key, diff, tolerance_for(reference, atol)))
    return diffs
