"""The interface the harness drives: the deep ``ClickSession`` and the GrabCut baseline both provide it."""

from __future__ import annotations

from typing import Protocol

import numpy as np


class Session(Protocol):
    """An interactive segmenter for one image at a time."""

    def set_image(self, image: np.ndarray) -> None:
        """Start a new object on an RGB uint8 H×W×3 image (clears all clicks)."""

    def add_click(self, x: int, y: int, positive: bool) -> np.ndarray:
        """Add a click at column ``x``, row ``y``; return the foreground probability (float32 H×W)."""
