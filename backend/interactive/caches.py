"""Per-process caches of an inference worker: loaded models, working images, live click sessions.

PyTorch and the engines are imported when a model is first loaded, not with this module: a process that only
submits jobs (the web process in team mode) or only exports never imports them.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Generic, TypeVar

from django.conf import settings

from ml.inference.working_copy import WorkingImage, load_working_image

if TYPE_CHECKING:
    from ml.inference.engines.base import Engine
    from ml.inference.predictor import ClickSession

K = TypeVar("K")
V = TypeVar("V")


class LRU(Generic[K, V]):
    """A small thread-safe LRU bounded by a total cost (bytes, or 1 per entry)."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._items: OrderedDict[K, tuple[V, int]] = OrderedDict()
        self._total = 0
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        with self._lock:
            if key not in self._items:
                return None
            self._items.move_to_end(key)
            return self._items[key][0]

    def put(self, key: K, value: V, cost: int = 1) -> None:
        with self._lock:
            if key in self._items:
                self._total -= self._items.pop(key)[1]
            self._items[key] = (value, cost)
            self._total += cost
            while self._total > self.capacity and len(self._items) > 1:
                _, (_, dropped) = self._items.popitem(last=False)
                self._total -= dropped

    def pop(self, key: K) -> V | None:
        with self._lock:
            item = self._items.pop(key, None)
            if item is None:
                return None
            self._total -= item[1]
            return item[0]


_models: dict[str, Engine] = {}
_models_lock = threading.Lock()


def loaded_model(name: str) -> Engine:
    """Registered model ``name`` ready to run: loaded into its inference engine (and compiled, if the engine
    does) once per process."""
    from ml.inference.engines import create_engine
    from ml.weights.loader import load_model

    with _models_lock:
        if name not in _models:
            _models[name] = create_engine(
                load_model(name), settings.INFERENCE_ENGINE or None, settings.INFERENCE_THREADS or None
            )
        return _models[name]


def loaded_models() -> dict[str, Engine]:
    """The models this process has loaded, by name (what ``/healthz`` reports). Without the lock, which a model
    being loaded holds for seconds to minutes: copying a dict is atomic under the GIL."""
    return dict(_models)


class ImageCache:
    """Working images (see ``ml.inference.working_copy``) by content hash, bounded by their bytes.

    Threads wanting an image that is being loaded wait for that load rather than decoding it again at once.
    """

    def __init__(self, capacity_bytes: int, *, max_pixels: int | None = None, folder: Path | None = None) -> None:
        self._lru: LRU[str, WorkingImage] = LRU(capacity_bytes)
        self.max_pixels = settings.INFERENCE_MAX_PIXELS if max_pixels is None else max_pixels
        self.folder = Path(settings.INFERENCE_WORKING_DIR) if folder is None else folder
        self._loading: set[str] = set()
        self._changed = threading.Condition()

    def get(self, key: str, path: str) -> WorkingImage:
        with self._changed:
            while (image := self._lru.get(key)) is None and key in self._loading:
                self._changed.wait()
            if image is not None:
                return image
            self._loading.add(key)
        try:
            image = load_working_image(path, key, max_pixels=self.max_pixels, folder=self.folder)
            self._lru.put(key, image, image.rgb.nbytes)
            return image
        finally:
            with self._changed:
                self._loading.discard(key)
                self._changed.notify_all()


@dataclass
class Live:
    """An object's click session held by this process, with the version of its state it last stored."""

    version: int
    session: ClickSession
    lock: threading.Lock


images = ImageCache(settings.INFERENCE_IMAGE_CACHE_BYTES)
live_sessions: LRU[str, Live] = LRU(settings.INFERENCE_SESSION_CACHE_SIZE)
