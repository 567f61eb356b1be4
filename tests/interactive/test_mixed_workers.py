"""GPU and CPU workers side by side (deploy/README.md, "GPU workers"), as far as a machine without a GPU goes:
a plain `-Q inference` worker and a "GPU" worker started the documented way (`-Q inference,inference.gpu`,
`INFERENCE_ENGINE=torch-cuda`). Without a GPU the latter says why and falls back to the CPU; both load the model at
start, both are listed in /healthz with their device, clicks are answered, and the `inference.gpu` queue reaches
only the GPU pool."""

import time
import warnings

import pytest
from celery.exceptions import AlwaysEagerIgnored
from kombu import Connection

from backend.config.celery import app as celery_app
from backend.interactive.jobs import ClickJob, run_click_job
from ml.inference.clicks import Click
from ml.inference.engines import choice as engine_choice
from ml.postprocess import MaskOptions
from tests.http import call
from tests.live_stack import TEST_REDIS_URL, Client, run_stack, token_for
from tests.waiting import wait_until

pytestmark = pytest.mark.django_db(transaction=True)

GPU_QUEUES = "inference,inference.gpu"


@pytest.fixture(scope="module")
def mixed_stack(tmp_path_factory, django_db_setup, django_db_blocker):
    for stack in run_stack(tmp_path_factory, team=True, workers=0):
        stack.start_worker("cpu-worker")
        cpu_env = stack.env
        stack.env = {**cpu_env, "INFERENCE_ENGINE": "torch-cuda"}
        try:
            stack.start_worker("gpu-worker", queue=GPU_QUEUES)
        finally:
            stack.env = cpu_env
        yield stack


@pytest.fixture
def media_root(settings, mixed_stack) -> None:
    settings.MEDIA_ROOT = mixed_stack.media


def test_both_workers_load_the_model_and_the_gpu_one_says_why_it_runs_on_the_cpu(mixed_stack) -> None:
    cpu, gpu = mixed_stack.workers
    for worker in (cpu, gpu):
        startup = worker.output().split(" ready.")[0]
        assert startup.count("default model hrnet18-ocr64-cocolvis loaded (") == 1, worker.tail()
    assert "torch-cuda needs a GPU" not in cpu.output()
    if engine_choice.gpu_info() is None:  # this machine: the forced GPU engine falls back, saying why
        assert "'torch-cuda' failed" in gpu.output() and "falling back to torch" in gpu.output(), gpu.tail()
        assert "default model hrnet18-ocr64-cocolvis loaded (torch engine)" in gpu.output(), gpu.tail()


def test_clicks_are_answered_and_healthz_lists_each_workers_device(mixed_stack, world, photo) -> None:
    token = token_for(world.users["annotator"])
    conn = Client(mixed_stack, photo.pk, token)
    conn.recv()
    conn.send(type="start", label=world.label.pk)
    conn.send(type="clicks", seq=1, clicks=[{"x": 250, "y": 200, "positive": True}])
    mask = conn.until("mask", seq=1, timeout=60)
    conn.close()
    assert mask["engine"] in ("openvino", "openvino-bf16", "openvino-int8", "torch-fused", "torch", "torch-cuda")

    pids = {worker.popen.pid for worker in mixed_stack.workers}

    def listed() -> list[dict] | None:
        health = call("GET", f"{mixed_stack.url}/healthz", headers={"Authorization": f"Token {token}"}).json()
        workers = [w for w in health["inference"]["workers"] if int(w["worker"].rsplit(":", 1)[1]) in pids]
        return workers if len(workers) == 2 else None

    workers = wait_until(listed, timeout=30, what="both workers in /healthz")
    expected = engine_choice.device_description()  # "cpu" here; a GPU machine's fallback-free run names the GPU
    by_pid = {int(w["worker"].rsplit(":", 1)[1]): w for w in workers}
    cpu, gpu = (by_pid[worker.popen.pid] for worker in mixed_stack.workers)
    assert cpu["device"] == gpu["device"] == expected
    assert (gpu["gpu"] is None) == (cpu["gpu"] is None) == (expected == "cpu")
    assert gpu["engines"] == {"hrnet18-ocr64-cocolvis": "torch-cuda" if expected != "cpu" else "torch"}


def test_the_gpu_queue_reaches_only_the_gpu_pool(mixed_stack) -> None:
    cpu, gpu = mixed_stack.workers
    before = {w.name: w.output().count("] received") for w in (cpu, gpu)}
    job = ClickJob(
        session="gpu-queue-probe", seq=1, model="hrnet18-ocr64-cocolvis", image_path="/nonexistent",
        image_sha256="0" * 64, clicks=(Click(1, 1, True),), options=MaskOptions(), expect_state=False,
        reply_channel="nobody", submitted_at=time.time() - 3600,  # long timed out: the worker drops it at once
    )  # fmt: skip
    # This test process's Celery app runs tasks eagerly: send the message itself, to the stack's broker.
    with Connection(TEST_REDIS_URL) as connection, warnings.catch_warnings():
        warnings.simplefilter("ignore", AlwaysEagerIgnored)
        celery_app.send_task(run_click_job.name, args=[job.to_message()], queue="inference.gpu", connection=connection)
    wait_until(
        lambda: gpu.output().count("] received") > before[gpu.name],
        timeout=30,
        what="the GPU worker to take the job of its own queue",
        details=gpu.tail,
    )
    assert cpu.output().count("] received") == before[cpu.name], cpu.tail()
