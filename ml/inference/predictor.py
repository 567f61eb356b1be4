"""``ClickSession``: click-based interactive segmentation of one object, RITM/EISeg style.

Per prediction (RITM ``BasePredictor.get_prediction`` with the transforms ZoomIn, LimitLongestSide, sigmoid
and optional horizontal flip):

1. choose the view (zoom box or whole image, see :mod:`ml.inference.zoom_in`);
2. crop and resize the image and the previous channel to the network input; channel 0 is the previous
   probability (soft, not thresholded — RITM's ``prev_prediction``) for ``prev_channel == "mask"``, or
   the sigmoid of the previous ``instances_edge`` output for ``"edge"`` (EdgeFlow); both are kept at
   full resolution, zero outside the last zoom box;
3. encode the clicks as radius-5 disks in the network frame and run the engine;
4. average the flipped logits (if ``flip``), apply the sigmoid, resize back and paste into a zero canvas.

The session owns model state, not a click history: the client owns the click list and sends the whole
list it wants (after its own undo, redo or clicks superseded while a prediction ran). :meth:`ClickSession.goto`
brings the session there with as few forward passes as possible. It keeps a bounded set of *known states*
(:class:`~ml.inference.state.Snapshot`, keyed by their clicks; the least recently used are dropped, the
empty state is always known) and starts from the known state whose clicks are the longest prefix of the
wanted ones. So undo (a prefix) and redo (a longer list still known) cost no forward pass and restore the
probability, the edge and the zoom box exactly; new clicks are added together in one pass, so superseded
clicks cost nothing. Rebuilding a lost state uses ``replay=True``: one pass per click, which reproduces
the original predictions.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ml.inference.clicks import DISK_RADIUS, Click, check_inside, coord_features
from ml.inference.engines.base import Engine, as_engine
from ml.inference.image import to_rgb_uint8
from ml.inference.state import STATE_VERSION, Snapshot, frozen
from ml.inference.zoom_in import Box, View, ZoomInParams, crop_view, full_view, needs_recalculation, select_roi
from ml.model.loaded import LoadedModel

MASK_KEY = "instances"
EDGE_KEY = "instances_edge"


@dataclass(frozen=True)
class Prediction:
    """Full-resolution probabilities of one forward pass, plus the raw network outputs and their view."""

    probability: np.ndarray
    edge: np.ndarray | None
    view: View
    outputs: dict[str, np.ndarray]


def _sigmoid(logits: np.ndarray) -> np.ndarray:
    return (0.5 * (1.0 + np.tanh(0.5 * logits.astype(np.float32)))).astype(np.float32)


class ClickSession:
    """Interactive segmentation of one object on one image.

    ``model``: a :class:`LoadedModel` (run with :class:`TorchEngine`) or any :class:`Engine`.
    ``zoom_in``: RITM/EISeg zoom-in with ``zoom_params`` (default: RITM evaluation, target 400).
    ``max_size``: whole-image inference shrinks images whose longer side exceeds it (``None``: never).
    ``flip``: average with the horizontally flipped prediction (RITM evaluation's test-time augmentation).
    ``max_history``: keep at most this many known states besides the empty one (the most recently used).
    Every state holds full-resolution float32 maps (one, or two for EdgeFlow, of H×W).
    """

    def __init__(
        self,
        model: LoadedModel | Engine,
        *,
        zoom_in: bool = True,
        flip: bool = False,
        zoom_params: ZoomInParams | None = None,
        max_size: int | None = 800,
        threads: int | None = None,
        radius: float = DISK_RADIUS,
        max_history: int = 16,
    ) -> None:
        if max_history < 1:
            raise ValueError(f"max_history must be at least 1, not {max_history}")
        self.engine = as_engine(model, threads)
        self.zoom_params = (zoom_params or ZoomInParams()) if zoom_in else None
        self.flip = flip
        self.max_size = max_size
        self.radius = radius
        self.max_history = max_history
        self._image: np.ndarray | None = None
        self._state: Snapshot | None = None
        self._empty: Snapshot | None = None
        self._known: OrderedDict[tuple[Click, ...], Snapshot] = OrderedDict()  # least recently used first
        self.last_prediction: Prediction | None = None
        self.network_s = 0.0  # seconds the engine ran during the last goto (the rest is crops, click maps, pastes)

    # ----------------------------------------------------------------- properties
    @property
    def uses_edge(self) -> bool:
        """Whether channel 0 is the previous edge (EdgeFlow) rather than the previous mask."""
        return self.engine.prev_channel == "edge"

    @property
    def image(self) -> np.ndarray:
        """The current image as RGB uint8 H×W×3."""
        if self._image is None:
            raise RuntimeError("set_image must be called first")
        return self._image

    @property
    def shape(self) -> tuple[int, int]:
        return self.image.shape[0], self.image.shape[1]

    @property
    def state(self) -> Snapshot:
        if self._state is None:
            raise RuntimeError("set_image must be called first")
        return self._state

    @property
    def clicks(self) -> list[Click]:
        return list(self.state.clicks)

    @property
    def probability(self) -> np.ndarray:
        """Foreground probability of the last prediction, read-only float32 H×W (zeros before any click).

        It is also the previous-mask channel of the next prediction.
        """
        return self.state.probability

    @property
    def edge(self) -> np.ndarray | None:
        """Full-resolution previous edge probability (EdgeFlow), else ``None``."""
        return self.state.edge

    @property
    def zoom_box(self) -> Box | None:
        """The kept zoom box ``(rmin, rmax, cmin, cmax)``, inclusive, or ``None``."""
        return self.state.zoom_box

    def knows(self, clicks: Sequence[Click]) -> bool:
        """Whether :meth:`goto` to ``clicks`` would need no forward pass."""
        return not clicks or tuple(clicks) in self._known

    # ----------------------------------------------------------------- interaction
    def set_image(self, image: np.ndarray) -> None:
        """Start a new object on ``image`` (any size; grayscale, RGB, RGBA, 16-bit... see ``to_rgb_uint8``).

        A read-only RGB uint8 array is used as it is (sessions on one cached image share it), any other is copied.
        """
        rgb = to_rgb_uint8(image)
        # never freeze or alias a writable array of the caller's
        self._image = rgb.copy() if rgb is image and image.flags.writeable else rgb
        self._image.flags.writeable = False
        self.reset()

    def reset(self) -> None:
        """Forget the clicks and every known state (a new object); the state is then the empty one."""
        self._empty = Snapshot.empty(*self.shape, with_edge=self.uses_edge)
        self._state = self._empty
        self._known.clear()
        self.last_prediction = None

    def goto(self, clicks: Sequence[Click], *, replay: bool = False) -> int:
        """Make ``self.clicks == clicks``; return the number of predictions run (0 for a known state).

        Starts from the known state whose clicks are the longest prefix of ``clicks`` and adds the missing
        clicks in one prediction, or one prediction each with ``replay`` (as when rebuilding a lost state).
        Raises ``ValueError`` for a missing click outside the image (the state is then unchanged).
        """
        wanted = tuple(clicks)
        self.network_s = 0.0
        if wanted == self.state.clicks:
            return 0
        state = self._longest_known_prefix(wanted)
        missing = wanted[len(state.clicks) :]
        for click in missing:
            check_inside(click, *self.shape)
        if not missing:  # a known state
            self._state = state
            return 0
        ends = range(len(state.clicks) + 1, len(wanted) + 1) if replay else [len(wanted)]
        for end in ends:
            state = self._next_state(state, wanted[:end])
            self._remember(state)
        self._state = state
        return len(ends)

    def add_click(self, x: float, y: float, positive: bool = True) -> np.ndarray:
        """Add a click at column ``x``, row ``y`` (pixel indices); return the read-only float32 H×W probability.

        Raises ``ValueError`` for a click outside the image (the state is then unchanged).
        """
        self.goto([*self.state.clicks, Click(x, y, bool(positive))])
        return self.probability

    def _longest_known_prefix(self, wanted: tuple[Click, ...]) -> Snapshot:
        """The known state whose clicks are the longest prefix of ``wanted`` (marked as used), else the empty one."""
        assert self._empty is not None  # set with the image, as the state
        best = self._empty
        for clicks, known in self._known.items():
            if len(best.clicks) < len(clicks) <= len(wanted) and wanted[: len(clicks)] == clicks:
                best = known
        if best.clicks:
            self._known.move_to_end(best.clicks)
        return best

    def _remember(self, state: Snapshot) -> None:
        self._known[state.clicks] = state
        self._known.move_to_end(state.clicks)
        while len(self._known) > self.max_history:
            self._known.popitem(last=False)

    # ----------------------------------------------------------------- state
    def export_state(self, with_known: bool = True) -> dict[str, Any]:
        """Plain dict (lists, float32 full-resolution arrays) from which any worker can continue.

        Keys: ``version``, ``model``, ``prev_channel``, ``image_shape`` ``[H, W]`` and the current state's
        ``clicks`` ``[[x, y, positive], ...]``, ``probability`` (H×W), ``edge`` (H×W or ``None``) and
        ``zoom_box`` (``[rmin, rmax, cmin, cmax]`` or ``None``); with ``with_known``, ``known``: the other
        known states as dicts of the same keys, least recently used first. Arrays are read-only and shared
        with the session. Size: about ``4·H·W`` bytes per map and state;
        :func:`~ml.inference.state.encode_state` makes compact bytes.
        """
        state: dict[str, Any] = {
            "version": STATE_VERSION,
            "model": self.engine.name,
            "prev_channel": self.engine.prev_channel,
            "image_shape": list(self.shape),
            **self.state.to_dict(),
        }
        if with_known:
            current = self.state.clicks
            state["known"] = [known.to_dict() for clicks, known in self._known.items() if clicks != current]
        return state

    def load_state(self, state: dict[str, Any]) -> None:
        """Continue from :meth:`export_state` output; the same image must be set first."""
        if state.get("version") != STATE_VERSION:
            raise ValueError(f"unsupported state version {state.get('version')!r}")
        if state.get("prev_channel", self.engine.prev_channel) != self.engine.prev_channel:
            raise ValueError(
                f"state holds a previous {state['prev_channel']}, the model takes {self.engine.prev_channel}"
            )
        if tuple(state["image_shape"]) != self.shape:
            raise ValueError(f"state is for an image of shape {tuple(state['image_shape'])}, not {self.shape}")
        current = self._restore(state)
        known = [self._restore(item) for item in state.get("known", [])]
        self._known.clear()
        for snapshot in [*known, current]:
            if snapshot.clicks:
                self._remember(snapshot)
        self._state = current
        self.last_prediction = None

    @classmethod
    def from_state(
        cls, model: LoadedModel | Engine, image: np.ndarray, state: dict[str, Any], **kwargs: Any
    ) -> ClickSession:
        """A new session on ``image`` continuing ``state`` (``kwargs`` as for the constructor)."""
        session = cls(model, **kwargs)
        session.set_image(image)
        session.load_state(state)
        return session

    def _restore(self, data: dict[str, Any]) -> Snapshot:
        return Snapshot.from_dict(data, self.shape, self.uses_edge)

    # ----------------------------------------------------------------- prediction
    def _next_state(self, previous: Snapshot, clicks: tuple[Click, ...]) -> Snapshot:
        """Predict with ``clicks`` from ``previous``; includes RITM's zoom-in recalculation."""
        roi, use_roi = self._select(previous.probability, clicks, previous.zoom_box)
        prediction = self._predict(previous, clicks, roi if use_roi else None)
        params = self.zoom_params
        if params is not None and not use_roi and needs_recalculation(prediction.probability, roi, params):
            roi, use_roi = select_roi(prediction.probability, clicks, roi, params)
            prediction = self._predict(previous, clicks, roi if use_roi else None)
        self.last_prediction = prediction
        edge = None if prediction.edge is None else frozen(prediction.edge)
        return Snapshot(clicks, frozen(prediction.probability), edge, roi)

    def _select(self, probability: np.ndarray, clicks: tuple[Click, ...], roi: Box | None) -> tuple[Box | None, bool]:
        if self.zoom_params is None:
            return None, False
        return select_roi(probability, clicks, roi, self.zoom_params)

    def _view(self, crop: Box | None) -> View:
        if crop is None:
            return full_view(*self.shape, self.max_size)
        assert self.zoom_params is not None
        return crop_view(crop, self.zoom_params.target_size, self.max_size)

    def _predict(self, previous: Snapshot, clicks: tuple[Click, ...], crop: Box | None) -> Prediction:
        view = self._view(crop)
        prev = previous.edge if self.uses_edge else previous.probability
        image, features = self._network_inputs(view, prev, clicks)
        started = time.perf_counter()
        outputs = self.engine(image, features)
        self.network_s += time.perf_counter() - started
        logits = {key: self._merge_flip(value) for key, value in outputs.items()}
        missing = {MASK_KEY, EDGE_KEY} - set(logits) if self.uses_edge else {MASK_KEY} - set(logits)
        if missing:
            raise KeyError(f"engine {self.engine.name!r} returned {sorted(logits)}, missing {sorted(missing)}")
        probability = view.paste(_sigmoid(logits[MASK_KEY]), self.shape)
        edge = view.paste(_sigmoid(logits[EDGE_KEY]), self.shape) if self.uses_edge else None
        return Prediction(probability, edge, view, logits)

    def _network_inputs(self, view: View, prev: np.ndarray, clicks: tuple[Click, ...]) -> tuple[np.ndarray, np.ndarray]:
        """``image`` N×3×h×w normalised and ``coord_features`` N×3×h×w (N = 2 with flip)."""
        image = self._normalise(view.crop(self.image))
        prev_crop = view.crop(prev)
        net_clicks = [view.to_network(click) for click in clicks]
        features = coord_features(prev_crop, net_clicks, self.radius)
        if not self.flip:
            return image[None], features[None]
        width = view.size[1]
        flipped_clicks = [click.moved(x=width - click.x - 1, y=click.y) for click in net_clicks]
        flipped = coord_features(prev_crop[:, ::-1], flipped_clicks, self.radius)
        return np.stack([image, image[:, :, ::-1]]), np.stack([features, flipped])

    def _normalise(self, rgb: np.ndarray) -> np.ndarray:
        """H×W×3 values 0–255 → 3×H×W float32 ``(x / 255 - mean) / std``."""
        mean = np.asarray(self.engine.mean, dtype=np.float32)
        std = np.asarray(self.engine.std, dtype=np.float32)
        scaled = rgb.astype(np.float32, copy=False) / np.float32(255.0)
        return np.ascontiguousarray(((scaled - mean) / std).transpose(2, 0, 1))

    def _merge_flip(self, logits: np.ndarray) -> np.ndarray:
        """N×1×h×w → h×w, averaging the flipped half when flipping."""
        if not self.flip:
            return logits[0, 0]
        return 0.5 * (logits[0, 0] + logits[1, 0, :, ::-1])
