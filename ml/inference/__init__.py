"""Click-based inference: click encoding, zoom-in, engines and the interactive ``ClickSession``.

The names below are imported on first use (PEP 562), so that importing a light submodule (``ml.inference.clicks``,
``ml.inference.image``) does not import PyTorch: processes that never run the model (the web process in team mode,
export workers) stay without it.
"""

from ml.lazy_names import lazy_getattr

_SOURCES = {
    "Click": "ml.inference.clicks",
    "click_maps": "ml.inference.clicks",
    "coord_features": "ml.inference.clicks",
    "disk_map": "ml.inference.clicks",
    "Engine": "ml.inference.engines.base",
    "TorchEngine": "ml.inference.engines.base",
    "as_engine": "ml.inference.engines.base",
    "to_rgb_uint8": "ml.inference.image",
    "ClickSession": "ml.inference.predictor",
    "Prediction": "ml.inference.predictor",
    "Snapshot": "ml.inference.state",
    "decode_state": "ml.inference.state",
    "encode_state": "ml.inference.state",
    "pack_state": "ml.inference.state",
    "unpack_state": "ml.inference.state",
    "WorkingFrame": "ml.inference.working",
    "View": "ml.inference.zoom_in",
    "ZoomInParams": "ml.inference.zoom_in",
}

__all__ = sorted(_SOURCES)

__getattr__ = lazy_getattr("ml.inference", _SOURCES)
