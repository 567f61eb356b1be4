"""Engines run a network on prepared NumPy inputs; the predictor only talks to this protocol.

An engine carries the input conventions of its model (``mean``/``std`` for normalising RGB in [0, 1],
and ``prev_channel``: what channel 0 of ``coord_features`` holds) and maps
``(image N×3×H×W float32 normalised, coord_features N×3×H×W float32)`` to a dict of N×1×H×W float32
logits (``instances``, ``instances_aux`` and, for EdgeFlow, ``instances_edge``).
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np
import torch

from ml.model.loaded import LoadedModel, PrevChannel


@runtime_checkable
class Engine(Protocol):
    """Anything that can run a click-segmentation network on NumPy arrays."""

    name: str
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    prev_channel: PrevChannel

    def __call__(self, image: np.ndarray, coord_features: np.ndarray) -> dict[str, np.ndarray]: ...


class TorchEngine:
    """Eager PyTorch inference of a :class:`LoadedModel` under ``torch.inference_mode``, on ``device``.

    ``threads`` sets ``torch.set_num_threads`` (a process-wide setting) when given. On another device than the
    CPU the network is moved there (in place: pass a copy to keep ``loaded.network`` where it is), each call's
    NumPy inputs are copied to it and the outputs come back as float32 NumPy arrays on the CPU, so callers
    (``ClickSession``, ``TiledClickSession``) never see a device. ``device_label`` is what a worker's status
    names (``"cuda:0 (NVIDIA L4)"``); by default the device itself.
    """

    engine_name = "torch"

    def __init__(
        self,
        loaded: LoadedModel,
        threads: int | None = None,
        device: str | torch.device = "cpu",
        device_label: str | None = None,
    ) -> None:
        self.device = torch.device(device)
        self.device_label = device_label or str(self.device)
        self.network = loaded.network.eval().to(self.device)  # a no-op on the CPU
        self.loaded = loaded
        self.name = loaded.name
        self.mean = tuple(float(v) for v in loaded.mean)
        self.std = tuple(float(v) for v in loaded.std)
        self.prev_channel: PrevChannel = loaded.prev_channel
        if threads is not None:
            torch.set_num_threads(threads)

    def __call__(self, image: np.ndarray, coord_features: np.ndarray) -> dict[str, np.ndarray]:
        with torch.inference_mode():
            outputs = self.network(_tensor(image, self.device), _tensor(coord_features, self.device))
            return {key: _array(value) for key, value in outputs.items() if torch.is_tensor(value)}


def _tensor(array: np.ndarray, device: torch.device | None = None) -> torch.Tensor:
    tensor = torch.from_numpy(np.ascontiguousarray(array, dtype=np.float32))
    return tensor if device is None or device.type == "cpu" else tensor.to(device)


def _array(tensor: torch.Tensor) -> np.ndarray:
    """A network output as float32 NumPy on the CPU (``.cpu()`` waits for a GPU's work to finish)."""
    return tensor.detach().float().cpu().numpy()


def as_engine(model: LoadedModel | Engine, threads: int | None = None) -> Engine:
    """Wrap a :class:`LoadedModel` in a :class:`TorchEngine`; pass engines through unchanged."""
    if isinstance(model, LoadedModel):
        return TorchEngine(model, threads)
    if isinstance(model, Engine):
        return model
    raise TypeError(f"expected a LoadedModel or an Engine, got {type(model).__name__}")
