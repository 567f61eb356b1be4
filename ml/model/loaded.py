"""The value every consumer of a loaded network receives."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from torch import nn

PrevChannel = Literal["mask", "edge"]


@dataclass(frozen=True)
class LoadedModel:
    """A ready-to-run network plus the input conventions it was trained with.

    ``network(image, coord_features)`` returns a dict of N×1×H×W logits (``instances``,
    ``instances_aux`` and, for EdgeFlow, ``instances_edge``). ``image`` is N×3×H×W float32
    already normalised with ``mean``/``std`` (RGB, values in [0, 1] before normalising);
    ``coord_features`` is N×3×H×W: channel 0 the previous mask (``prev_channel == "mask"``)
    or previous edge probability (``"edge"``), channel 1 positive and channel 2 negative
    click disks.
    """

    name: str
    arch: str
    network: nn.Module
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    prev_channel: PrevChannel
