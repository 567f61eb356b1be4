"""Parity of a stored (fp16) checkpoint with the fp32 network it was exported from.

The exporter saves the fp32 network's probabilities on a fixed input next to the checkpoint
(``<name>.parity.npz``); :func:`max_differences` recomputes them with the stored weights.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

PARITY_SIZE = (96, 128)


def parity_inputs() -> tuple[torch.Tensor, torch.Tensor]:
    """A seeded image and click features: one positive disk, a soft previous channel."""
    generator = torch.Generator().manual_seed(0)
    image = torch.randn(1, 3, *PARITY_SIZE, generator=generator)
    features = torch.zeros(1, 3, *PARITY_SIZE)
    features[0, 0] = 0.5 * torch.rand(*PARITY_SIZE, generator=generator)
    features[0, 1, 40:46, 60:66] = 1.0
    return image, features


def parity_outputs(network: nn.Module) -> dict[str, np.ndarray]:
    """Sigmoid probabilities of every output on :func:`parity_inputs` (eval mode)."""
    network.eval()
    with torch.no_grad():
        outputs = network(*parity_inputs())
    return {key: torch.sigmoid(value).numpy() for key, value in outputs.items()}


def write_parity_reference(network: nn.Module, path: Path) -> Path:
    np.savez_compressed(path, **parity_outputs(network))
    return path


def max_differences(network: nn.Module, reference: Path) -> dict[str, float]:
    """Largest absolute probability difference per output between ``network`` and the stored reference."""
    expected = np.load(reference)
    actual = parity_outputs(network)
    return {key: float(np.abs(actual[key] - expected[key]).max()) for key in expected.files}
