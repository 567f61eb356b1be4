"""The GrabCut baseline: OpenCV GrabCut re-run after every click, seeded from the clicks and the last mask."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ml.inference.clicks import Click


@dataclass(frozen=True)
class GrabCutSettings:
    """Seeding geometry, as fractions of the image diagonal unless named in pixels."""

    iterations: int = 5
    sure_radius_px: int = 5
    first_region: float = 0.15
    positive_region: float = 0.12
    negative_region: float = 0.12
    seed: int = 0
    keep_clicked_components: bool = True


class GrabCutSession:
    """The evaluation :class:`~ml.evaluation.session.Session` interface (``set_image``, ``add_click``) and ``reset``.

    Seeds: a disk of ``sure_radius_px`` around each positive click is sure foreground and around each
    negative click sure background. The last mask is probable foreground and the rest probable background.
    A positive click outside the last mask (or the first click) adds a probable-foreground disk around it
    (``first_region`` of the diagonal, never reaching past half the way to a negative click); a negative
    click adds a probable-background disk (``correction_region``). Components of the result that contain no
    positive click are dropped. Clicks are kept at integer pixels.
    """

    def __init__(self, settings: GrabCutSettings | None = None) -> None:
        self.settings = settings or GrabCutSettings()
        self.image: np.ndarray | None = None
        self.clicks: list[Click] = []
        self.mask: np.ndarray | None = None

    def set_image(self, image: np.ndarray) -> None:
        self.image = np.ascontiguousarray(cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
        self.reset()

    def reset(self) -> None:
        self.clicks = []
        self.mask = None

    def add_click(self, x: int, y: int, positive: bool) -> np.ndarray:
        if self.image is None:
            raise RuntimeError("set_image must be called before add_click")
        self.clicks.append(Click(x=int(x), y=int(y), positive=bool(positive)))
        self.mask = self._segment(self.mask)
        return self.mask.astype(np.float32)

    def _segment(self, previous: np.ndarray | None) -> np.ndarray:
        assert self.image is not None
        trimap = self._trimap(previous)
        labels = np.unique(trimap)
        if not np.isin(labels, (cv2.GC_FGD, cv2.GC_PR_FGD)).any() or not np.isin(labels, (0, 2)).any():
            return np.isin(trimap, (cv2.GC_FGD, cv2.GC_PR_FGD))
        background, foreground = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
        cv2.setRNGSeed(self.settings.seed)  # GrabCut's k-means initialisation is random
        cv2.grabCut(self.image, trimap, None, background, foreground, self.settings.iterations, cv2.GC_INIT_WITH_MASK)
        mask = np.isin(trimap, (cv2.GC_FGD, cv2.GC_PR_FGD))
        return self._clicked_components(mask) if self.settings.keep_clicked_components else mask

    def _trimap(self, previous: np.ndarray | None) -> np.ndarray:
        assert self.image is not None
        height, width = self.image.shape[:2]
        diagonal = float(np.hypot(height, width))
        trimap = np.full((height, width), cv2.GC_PR_BGD, dtype=np.uint8)
        if previous is not None:
            trimap[previous] = cv2.GC_PR_FGD
        negatives = [c for c in self.clicks if not c.positive]
        region = self.settings.first_region if previous is None else self.settings.positive_region
        for click in self.clicks:
            if click.positive and (previous is None or not previous[click.y, click.x]):
                radius = self._region_radius(click, negatives, region * diagonal)
                cv2.circle(trimap, (click.x, click.y), radius, cv2.GC_PR_FGD, -1)
        for click in negatives:
            radius = int(round(self.settings.negative_region * diagonal))
            cv2.circle(trimap, (click.x, click.y), radius, cv2.GC_PR_BGD, -1)
        for click in self.clicks:
            label = cv2.GC_FGD if click.positive else cv2.GC_BGD
            cv2.circle(trimap, (click.x, click.y), self.settings.sure_radius_px, label, -1)
        return trimap

    @staticmethod
    def _region_radius(click: Click, negatives: list[Click], limit: float) -> int:
        nearest = min((np.hypot(click.x - n.x, click.y - n.y) for n in negatives), default=np.inf)
        return max(1, int(round(min(limit, nearest / 2))))

    def _clicked_components(self, mask: np.ndarray) -> np.ndarray:
        _, components = cv2.connectedComponents(mask.astype(np.uint8), connectivity=8)
        keep = {int(components[c.y, c.x]) for c in self.clicks if c.positive} - {0}
        if not keep:
            return mask
        return np.isin(components, sorted(keep))
