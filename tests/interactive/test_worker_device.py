"""A worker's status names the device its models run on (``cpu`` or ``cuda:0 (NVIDIA …)``), in-process and as
published to the registry behind /healthz, so an operator sees which workers have a GPU."""

import time
from types import SimpleNamespace

import pytest
import redis

from backend.interactive import caches, inference_status
from ml.inference.engines import choice as engine_choice
from ml.inference.engines.choice import GpuInfo
from tests.live_stack import TEST_REDIS_URL

FAKE_GPU = GpuInfo(device="cuda:0", name="NVIDIA Fake 1000", capability="8.9", memory_mb=24576, cuda="12.8")
ON_GPU = SimpleNamespace(engine_name="torch-cuda", device_label=FAKE_GPU.describe())
ON_CPU = SimpleNamespace(engine_name="openvino")  # OpenVINO's engines carry no device: the CPU


@pytest.fixture
def loaded():
    """This process's loaded models, set by the test (restored after it)."""
    saved = dict(caches._models)
    caches._models.clear()
    yield caches._models
    caches._models.clear()
    caches._models.update(saved)


def test_a_cpu_worker_says_cpu(loaded, monkeypatch) -> None:
    monkeypatch.setattr(engine_choice, "gpu_info", lambda: None)
    assert inference_status.local_status("w:1")["device"] == "cpu"  # nothing loaded: where the choice would run
    loaded["m"] = ON_CPU
    status = inference_status.local_status("w:1")
    assert status["device"] == "cpu" and status["gpu"] is None and status["engines"] == {"m": "openvino"}
    assert status["cpu"]["model"]


def test_a_gpu_worker_names_its_gpu(loaded, monkeypatch) -> None:
    monkeypatch.setattr(engine_choice, "gpu_info", lambda: FAKE_GPU)
    assert inference_status.local_status("w:2")["device"] == "cuda:0 (NVIDIA Fake 1000)"
    loaded["m"] = ON_GPU
    status = inference_status.local_status("w:2")
    assert status["device"] == "cuda:0 (NVIDIA Fake 1000)" and status["engines"] == {"m": "torch-cuda"}
    assert status["gpu"]["name"] == "NVIDIA Fake 1000" and status["gpu"]["memory_mb"] == 24576
    loaded["other"] = ON_CPU  # told to run on the CPU (INFERENCE_ENGINE), or fell back there: both are shown
    assert inference_status.local_status("w:2")["device"] == "cpu, cuda:0 (NVIDIA Fake 1000)"


def test_this_machines_real_engine_reports_its_device(loaded) -> None:
    from ml.inference.engines import engine_device

    engine = caches.loaded_model("hrnet18-ocr64-cocolvis")
    status = inference_status.local_status("w:3")
    assert status["device"] == engine_device(engine) == engine_choice.device_description()


def test_healthz_shows_the_device_of_the_in_process_worker(loaded, world, monkeypatch) -> None:
    monkeypatch.setattr(engine_choice, "gpu_info", lambda: FAKE_GPU)
    loaded["m"] = ON_GPU
    health = world.client("annotator").get("/healthz").json()
    [worker] = health["inference"]["workers"]
    assert worker["device"] == "cuda:0 (NVIDIA Fake 1000)" and worker["engines"] == {"m": "torch-cuda"}
    assert world.client("anonymous").get("/healthz").json() == {"ok": True}


def test_a_published_worker_carries_its_device(loaded, settings, monkeypatch) -> None:
    settings.REDIS_URL = TEST_REDIS_URL
    monkeypatch.setattr(inference_status, "REGISTRY_KEY", f"edgeflow:test:devices:{time.time_ns()}")
    monkeypatch.setattr(engine_choice, "gpu_info", lambda: FAKE_GPU)
    loaded["m"] = ON_GPU
    try:
        inference_status.publish("gpu-host:1")
        [listed] = inference_status.published_workers()
        assert listed["worker"] == "gpu-host:1" and listed["device"] == "cuda:0 (NVIDIA Fake 1000)"
    finally:
        redis.Redis.from_url(TEST_REDIS_URL).delete(inference_status.REGISTRY_KEY)
