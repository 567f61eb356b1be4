"""The INFERENCE_ENGINE setting picks the engine workers build per model; an unknown name is a clear error."""

from __future__ import annotations

import pytest
from django.test import override_settings

from backend.interactive import caches
from ml.inference.engines import default_engine, engine_name

MODEL = "hrnet18-ocr64-cocolvis"


@pytest.fixture
def empty_engine_cache():
    saved = dict(caches._engines)
    caches._engines.clear()
    yield
    caches._engines.clear()
    caches._engines.update(saved)


@pytest.mark.parametrize("setting", ["torch-fused", ""])
def test_setting_selects_the_engine(empty_engine_cache, setting: str) -> None:
    with override_settings(INFERENCE_ENGINE=setting):
        engine = caches.engine(MODEL)
    assert engine_name(engine) == (setting or default_engine())
    assert caches.engine(MODEL) is engine  # built once per model


def test_unknown_engine_setting_is_reported(empty_engine_cache) -> None:
    with override_settings(INFERENCE_ENGINE="tensorrt"), pytest.raises(ValueError, match="unknown inference engine"):
        caches.engine(MODEL)
