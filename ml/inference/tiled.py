"""``TiledClickSession``: the click session of a tiled (gigapixel) image, whose cost does not grow with the image.

:class:`~ml.inference.predictor.ClickSession` keeps the probability (and EdgeFlow's edge) as full-resolution maps,
which is why huge images are segmented on a bounded working copy. Yet those maps carry no more than what the
network produced: a ``size`` map over the view's box, resized and pasted into zeros. This session keeps exactly
that — a :class:`Placed` map: the box (full-resolution pixels) and the network-resolution values — and reads the
image from its tile pyramid (:mod:`ml.inference.pyramid`) only where and as finely as the network looks:

- the first click (RITM's whole-image prediction) sees the whole image at ``max_size`` (800 px) from a coarse
  level;
- a zoom-in crop reads only its box, from the coarsest level with at least the network's resolution over it;
- the previous-mask channel of the next view is resampled from the placed map (zero outside it, as the full map
  would be);
- the shape (polygons, RLE, bbox, area) is computed over the box at up to ``shape_size`` px a side and mapped to
  full-resolution pixels; the RLE covers the box (``mask_box``), not the image.

So every map of a click is at most network-sized, whatever the image: a click on a 400-Mpx image costs what it
costs on a 1-Mpx one, and the state kept in Redis is a few hundred kB. The zoom-in rules (which box, when) are
RITM's, :mod:`ml.inference.zoom_in`, on full-resolution coordinates. Clicks come in full-resolution pixels.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from ml.inference.clicks import DISK_RADIUS, Click, check_inside, coord_features
from ml.inference.engines.base import Engine, as_engine
from ml.inference.pyramid import Pyramid
from ml.inference.resize import resize_bilinear
from ml.inference.state import frozen
from ml.inference.working import WorkingFrame
from ml.inference.zoom_in import (
    Box,
    View,
    ZoomInParams,
    box_iou,
    clamp_box,
    clicks_inside,
    crop_view,
    full_box,
    full_view,
    roi_around,
)
from ml.model.loaded import LoadedModel
from ml.postprocess import MaskOptions, mask_to_shape

TILED_STATE_VERSION = 1
MASK_KEY, EDGE_KEY = "instances", "instances_edge"


@dataclass(frozen=True)
class Placed:
    """A full-resolution map known over ``box`` (inclusive ``(rmin, rmax, cmin, cmax)``) as ``values`` sampled
    corner to corner (``align_corners``, as :class:`View` crops and pastes), zero everywhere else.
    ``box`` ``None``: zero everywhere."""

    box: Box | None
    values: np.ndarray | None

    @classmethod
    def zero(cls) -> Placed:
        return cls(None, None)

    def sample(self, view: View) -> np.ndarray:
        """The map as ``view.crop`` of the full map would give it: ``view.size`` float32."""
        height, width = view.size
        if self.box is None or self.values is None:
            return np.zeros((height, width), np.float32)
        # output pixel → full-resolution position → this map's array position, one affine map per axis
        row_a, row_b = _axis(view.box[0], view.box[1], height, self.box[0], self.box[1], self.values.shape[0])
        col_a, col_b = _axis(view.box[2], view.box[3], width, self.box[2], self.box[3], self.values.shape[1])
        matrix = np.array([[col_a, 0, col_b], [0, row_a, row_b]], np.float64)
        return cv2.warpAffine(
            np.ascontiguousarray(self.values, np.float32),
            matrix,
            (width, height),
            flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
            borderMode=cv2.BORDER_CONSTANT,
            borderValue=0.0,
        )

    def above_box(self, threshold: float) -> Box | None:
        """Full-resolution bounding box of where the map exceeds ``threshold`` (``None``: nowhere)."""
        if self.box is None or self.values is None:
            return None
        rows, cols = np.nonzero(self.values > threshold)
        if not len(rows):
            return None
        rmin, rmax, cmin, cmax = self.box
        rs = (rmax - rmin) / max(1, self.values.shape[0] - 1)
        cs = (cmax - cmin) / max(1, self.values.shape[1] - 1)
        return (
            rmin + math.floor(rows.min() * rs),
            min(rmax, rmin + math.ceil(rows.max() * rs)),
            cmin + math.floor(cols.min() * cs),
            min(cmax, cmin + math.ceil(cols.max() * cs)),
        )

    def to_dict(self) -> dict[str, Any]:
        return {"box": None if self.box is None else [int(v) for v in self.box], "values": self.values}

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None, shape: tuple[int, int]) -> Placed:
        if not data or data.get("box") is None:
            return cls.zero()
        rmin, rmax, cmin, cmax = (int(v) for v in data["box"])
        if not (0 <= rmin <= rmax < shape[0] and 0 <= cmin <= cmax < shape[1]):
            raise ValueError(f"box {data['box']} does not fit an image of shape {shape}")
        values = np.array(data["values"], dtype=np.float32)
        if values.ndim != 2 or values.size == 0 or max(values.shape) > 4096:
            raise ValueError(f"placed values of shape {values.shape}")
        return cls((rmin, rmax, cmin, cmax), frozen(values))


def _axis(v0: int, v1: int, n_view: int, p0: int, p1: int, n_placed: int) -> tuple[float, float]:
    """``a, b`` with placed index ``= a · view index + b`` along one axis (both grids corner to corner)."""
    view_step = (v1 - v0) / (n_view - 1) if n_view > 1 else 0.0
    placed_per_pixel = (n_placed - 1) / (p1 - p0) if p1 > p0 else 0.0
    return view_step * placed_per_pixel, (v0 - p0) * placed_per_pixel


@dataclass(frozen=True)
class TiledState:
    clicks: tuple[Click, ...]
    probability: Placed
    edge: Placed | None
    zoom_box: Box | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "clicks": [click.as_list() for click in self.clicks],
            "probability": self.probability.to_dict(),
            "edge": None if self.edge is None else self.edge.to_dict(),
            "zoom_box": None if self.zoom_box is None else [int(v) for v in self.zoom_box],
        }


class TiledClickSession:
    """Interactive segmentation of one object on a tiled image (``pyramid``), in full-resolution coordinates.

    ``overview``: optional RGB of the whole image at the first click's network size (saves reading it).
    Other arguments as :class:`~ml.inference.predictor.ClickSession`'s; flip is not offered.
    """

    def __init__(
        self,
        model: LoadedModel | Engine,
        pyramid: Pyramid,
        *,
        overview: np.ndarray | None = None,
        zoom_params: ZoomInParams | None = None,
        max_size: int | None = 800,
        threads: int | None = None,
        radius: float = DISK_RADIUS,
        max_history: int = 16,
        shape_size: int = 1024,
    ) -> None:
        self.engine = as_engine(model, threads)
        self.pyramid = pyramid
        self.zoom_params = zoom_params or ZoomInParams()
        self.max_size = max_size
        self.radius = radius
        self.max_history = max_history
        self.shape_size = shape_size
        self._overview = overview
        self._empty = TiledState((), Placed.zero(), Placed.zero() if self.uses_edge else None, None)
        self._state = self._empty
        self._known: OrderedDict[tuple[Click, ...], TiledState] = OrderedDict()
        self.network_s = 0.0
        self.read_s = 0.0  # seconds spent reading tiles during the last goto

    @property
    def uses_edge(self) -> bool:
        return self.engine.prev_channel == "edge"

    @property
    def shape(self) -> tuple[int, int]:
        return self.pyramid.height, self.pyramid.width

    @property
    def state(self) -> TiledState:
        return self._state

    @property
    def clicks(self) -> list[Click]:
        return list(self._state.clicks)

    @property
    def probability(self) -> Placed:
        return self._state.probability

    @property
    def zoom_box(self) -> Box | None:
        return self._state.zoom_box

    def knows(self, clicks: Sequence[Click]) -> bool:
        return not clicks or tuple(clicks) in self._known

    def reset(self) -> None:
        self._state = self._empty
        self._known.clear()

    # ----------------------------------------------------------------- clicks
    def goto(self, clicks: Sequence[Click], *, replay: bool = False) -> int:
        """As :meth:`ClickSession.goto`: make ``self.clicks == clicks``; the number of predictions run."""
        wanted = tuple(clicks)
        self.network_s = self.read_s = 0.0
        if wanted == self._state.clicks:
            return 0
        state = self._empty
        for known_clicks, known in self._known.items():
            if len(state.clicks) < len(known_clicks) <= len(wanted) and wanted[: len(known_clicks)] == known_clicks:
                state = known
        if state.clicks:
            self._known.move_to_end(state.clicks)
        missing = wanted[len(state.clicks) :]
        for click in missing:
            check_inside(click, *self.shape)
        if not missing:
            self._state = state
            return 0
        ends = range(len(state.clicks) + 1, len(wanted) + 1) if replay else [len(wanted)]
        for end in ends:
            state = self._next_state(state, wanted[:end])
            self._known[state.clicks] = state
            self._known.move_to_end(state.clicks)
            while len(self._known) > self.max_history:
                self._known.popitem(last=False)
        self._state = state
        return len(ends)

    def _next_state(self, previous: TiledState, clicks: tuple[Click, ...]) -> TiledState:
        roi, use_roi = self._select(previous.probability, clicks, previous.zoom_box)
        view = crop_view(roi, self.zoom_params.target_size, self.max_size) if use_roi else self._full_view()
        probability, edge = self._predict(previous, clicks, view)
        return TiledState(clicks, probability, edge, roi)

    def _full_view(self) -> View:
        return full_view(*self.shape, self.max_size)

    def _select(self, probability: Placed, clicks: tuple[Click, ...], roi: Box | None) -> tuple[Box | None, bool]:
        """RITM's ``select_roi`` (see :func:`ml.inference.zoom_in.select_roi`) on a placed map."""
        params = self.zoom_params
        if len(clicks) <= params.skip_clicks:
            return roi, False
        candidate = self._object_roi(probability, clicks)
        if candidate is None:
            if params.skip_clicks >= 0:
                return roi, False
            candidate = full_box(*self.shape)
        if roi is None or not clicks_inside(roi, clicks) or box_iou(candidate, roi) < params.recompute_thresh_iou:
            roi = candidate
        return roi, True

    def _object_roi(self, probability: Placed, clicks: Sequence[Click]) -> Box | None:
        box = probability.above_box(self.zoom_params.prob_thresh)
        return None if box is None else roi_around(box, clicks, self.zoom_params, self.shape)

    # ----------------------------------------------------------------- prediction
    def _pixels(self, view: View) -> np.ndarray:
        """RGB of ``view`` at its network size, sampled corner to corner like ``view.crop`` of the full image."""
        height, width = view.size
        if view.box == full_box(*self.shape) and self._overview is not None and self._overview.shape[:2] == view.size:
            return self._overview
        started = time.perf_counter()
        pixels = self.pyramid.read_view(view.box, height, width)
        self.read_s += time.perf_counter() - started
        return pixels

    def overview(self) -> np.ndarray:
        """The whole image at the first click's network size (what a worker may keep per image)."""
        return self._pixels(self._full_view())

    def _predict(self, previous: TiledState, clicks: tuple[Click, ...], view: View) -> tuple[Placed, Placed | None]:
        prev = previous.edge if self.uses_edge else previous.probability
        assert prev is not None
        prev_crop = prev.sample(view)
        image = self._normalise(self._pixels(view))
        features = coord_features(prev_crop, [view.to_network(click) for click in clicks], self.radius)
        started = time.perf_counter()
        outputs = self.engine(image[None], features[None])
        self.network_s += time.perf_counter() - started
        missing = {MASK_KEY, EDGE_KEY} - set(outputs) if self.uses_edge else {MASK_KEY} - set(outputs)
        if missing:
            raise KeyError(f"engine {self.engine.name!r} returned {sorted(outputs)}, missing {sorted(missing)}")
        probability = Placed(view.box, frozen(_sigmoid(outputs[MASK_KEY][0, 0])))
        edge = Placed(view.box, frozen(_sigmoid(outputs[EDGE_KEY][0, 0]))) if self.uses_edge else None
        return probability, edge

    def _normalise(self, rgb: np.ndarray) -> np.ndarray:
        mean = np.asarray(self.engine.mean, dtype=np.float32)
        std = np.asarray(self.engine.std, dtype=np.float32)
        scaled = rgb.astype(np.float32, copy=False) / np.float32(255.0)
        return np.ascontiguousarray(((scaled - mean) / std).transpose(2, 0, 1))

    # ----------------------------------------------------------------- result
    def shape_of(self, options: MaskOptions) -> dict[str, Any]:
        """``polygons``, ``bbox``, ``area`` in full-resolution pixels; ``rle`` of the box at up to
        ``shape_size`` px a side, and ``mask_box`` ``[x, y, width, height]``: where that RLE lies on the image."""
        placed = self._state.probability
        if placed.box is None or placed.values is None:
            return {**mask_to_shape(np.zeros((1, 1), np.float32), options), "mask_box": [0, 0, 1, 1]}
        rmin, rmax, cmin, cmax = placed.box
        box_h, box_w = rmax - rmin + 1, cmax - cmin + 1
        scale = min(1.0, self.shape_size / max(box_h, box_w))
        out_h, out_w = max(1, round(box_h * scale)), max(1, round(box_w * scale))
        grid = resize_bilinear(placed.values, out_h, out_w)
        local = WorkingFrame(box_w, box_h, out_w, out_h).shape_to_image(mask_to_shape(grid, options))
        x, y, w, h = local["bbox"]
        return {
            **local,
            "polygons": [
                {"outer": _moved(p["outer"], cmin, rmin), "holes": [_moved(r, cmin, rmin) for r in p["holes"]]}
                for p in local["polygons"]
            ],
            "bbox": [x + cmin, y + rmin, w, h],
            "mask_box": [cmin, rmin, box_w, box_h],
        }

    # ----------------------------------------------------------------- state
    def export_state(self, with_known: bool = True) -> dict[str, Any]:
        state: dict[str, Any] = {
            "version": TILED_STATE_VERSION,
            "tiled": True,
            "model": self.engine.name,
            "prev_channel": self.engine.prev_channel,
            "image_shape": list(self.shape),
            **self._state.to_dict(),
        }
        if with_known:
            current = self._state.clicks
            state["known"] = [known.to_dict() for clicks, known in self._known.items() if clicks != current]
        return state

    def load_state(self, state: dict[str, Any]) -> None:
        if state.get("version") != TILED_STATE_VERSION or not state.get("tiled"):
            raise ValueError(f"not a tiled session state (version {state.get('version')!r})")
        if state.get("prev_channel", self.engine.prev_channel) != self.engine.prev_channel:
            raise ValueError(
                f"state holds a previous {state['prev_channel']}, the model takes {self.engine.prev_channel}"
            )
        if tuple(state["image_shape"]) != self.shape:
            raise ValueError(f"state is for an image of shape {tuple(state['image_shape'])}, not {self.shape}")
        current = self._restore(state)
        self._known.clear()
        for item in [*(self._restore(k) for k in state.get("known", [])), current]:
            if item.clicks:
                self._known[item.clicks] = item
        self._state = current

    def _restore(self, data: dict[str, Any]) -> TiledState:
        edge = Placed.from_dict(data.get("edge"), self.shape) if self.uses_edge else None
        box = data.get("zoom_box")
        zoom_box = None if box is None else clamp_box(tuple(int(v) for v in box), *self.shape)
        clicks = tuple(Click.from_list(row) for row in data["clicks"])
        for click in clicks:
            check_inside(click, *self.shape)
        return TiledState(clicks, Placed.from_dict(data.get("probability"), self.shape), edge, zoom_box)


def _moved(ring: list[list[int]], dx: int, dy: int) -> list[list[int]]:
    return [[x + dx, y + dy] for x, y in ring]


def _sigmoid(logits: np.ndarray) -> np.ndarray:
    return (0.5 * (1.0 + np.tanh(0.5 * logits.astype(np.float32)))).astype(np.float32)
