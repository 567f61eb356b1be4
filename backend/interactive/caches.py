"""Per-process caches of an inference worker: loaded models, decoded images, live click sessions."""

import threading
from collections import OrderedDict
from typing import Generic, TypeVar

import numpy as np
from django.conf import settings
from PIL import Image as PILImage
from PIL import ImageOps

from ml.inference.engine import Engine
from ml.inference.engines import create_engine
from ml.inference.image import to_rgb_uint8
from ml.weights import load_model

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


_engines: dict[str, Engine] = {}
_engines_lock = threading.Lock()


def engine(name: str) -> Engine:
    """The inference engine of registered model `name`, loaded (and compiled, if the engine does) once."""
    with _engines_lock:
        if name not in _engines:
            _engines[name] = create_engine(load_model(name), settings.INFERENCE_ENGINE or None)
        return _engines[name]


def read_rgb(path: str) -> np.ndarray:
    """The image as shown in a browser (EXIF orientation applied), RGB uint8."""
    with PILImage.open(path) as img:
        upright = ImageOps.exif_transpose(img)
        if upright.mode in {"P", "PA", "LA"}:
            upright = upright.convert("RGBA")
        elif upright.mode in {"CMYK", "YCbCr", "LAB", "HSV", "1"}:
            upright = upright.convert("RGB")
        array = np.asarray(upright)
    return to_rgb_uint8(array)


class ImageCache:
    def __init__(self, capacity_bytes: int) -> None:
        self._lru: LRU[str, np.ndarray] = LRU(capacity_bytes)

    def get(self, key: str, path: str) -> np.ndarray:
        image = self._lru.get(key)
        if image is None:
            image = read_rgb(path)
            image.flags.writeable = False
            self._lru.put(key, image, image.nbytes)
        return image
