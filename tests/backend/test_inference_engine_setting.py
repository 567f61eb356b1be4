"""The INFERENCE_ENGINE setting picks the engine workers build per model; an unknown name is a clear error."""

from __future__ import annotations

import pytest
from django.test import override_settings

from backend.interactive import caches
from ml.inference.engines import default_engine, engine_name
from ml.weights import load_model

MODEL = "hrnet18-ocr64-cocolvis"


@pytest.fixture
def empty_engine_cache():
    saved = dict(caches._models)
    caches._models.clear()
    yield
    caches._models.clear()
    caches._models.update(saved)


@pytest.mark.parametrize("setting", ["torch-fused", ""])
def test_setting_selects_the_engine(empty_engine_cache, setting: str) -> None:
    with override_settings(INFERENCE_ENGINE=setting):
        engine = caches.loaded_model(MODEL)
    # Unset: what the choice gives for this model's weights on this CPU (its guards included).
    assert engine_name(engine) == (setting or default_engine(load_model(MODEL)))
    assert caches.loaded_model(MODEL) is engine  # built once per model


def test_unknown_engine_setting_is_reported(empty_engine_cache) -> None:
    with override_settings(INFERENCE_ENGINE="tensorrt"), pytest.raises(ValueError, match="unknown inference engine"):
        caches.loaded_model(MODEL)
