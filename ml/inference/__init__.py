"""Click-based inference: click encoding, zoom-in, engines and the interactive ``ClickSession``."""

from ml.inference.clicks import Click, click_maps, coord_features, disk_map
from ml.inference.engines.base import Engine, TorchEngine, as_engine
from ml.inference.image import to_rgb_uint8
from ml.inference.predictor import ClickSession, Prediction
from ml.inference.state import Snapshot, decode_state, encode_state, pack_state, unpack_state
from ml.inference.working import WorkingFrame
from ml.inference.zoom_in import View, ZoomInParams

__all__ = [
    "Click",
    "ClickSession",
    "Engine",
    "Prediction",
    "Snapshot",
    "TorchEngine",
    "View",
    "WorkingFrame",
    "ZoomInParams",
    "as_engine",
    "click_maps",
    "coord_features",
    "decode_state",
    "disk_map",
    "encode_state",
    "pack_state",
    "to_rgb_uint8",
    "unpack_state",
]
