"""Fine-tuning in team mode, for real: daphne queues the job on Redis and a Celery worker on the ``training``
queue runs it (a tiny run), registers the new model where daphne sees it, and the project switches to it."""

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model

from backend.projects.models import Project
from ml.weights.registry import checkpoint_path
from tests.backend.test_finetune_api import prepare_demo
from tests.live_stack import Process, Stack, run_stack, token_for
from tests.waiting import wait_until

# The servers read their settings from the environment: the same tiny run as prepare_demo's.
TINY_FINETUNE = {
    "FINETUNE_ITERATIONS": "2",
    "FINETUNE_CROP_HEIGHT": "64",
    "FINETUNE_CROP_WIDTH": "96",
    "FINETUNE_VAL_MAX_CLICKS": "2",
    "FINETUNE_THREADS": "1",
}


@dataclass
class TrainingStack:
    stack: Stack
    project: Project
    trainer: Process


@pytest.fixture
def training_stack(
    tmp_path: Path, tmp_path_factory, transactional_db, settings, monkeypatch
) -> Iterator[TrainingStack]:
    """Daphne and one worker on the ``training`` queue, both on the test's model registry (tmp_path/var): the
    demo project and that registry are ready before the worker starts, as they are for a deployed worker."""
    env = {**TINY_FINETUNE, "EDGEFLOW_VAR_DIR": str(tmp_path / "var")}
    stacks = run_stack(tmp_path_factory, team=True, workers=0, extra_env=env)
    stack = next(stacks)
    try:
        settings.MEDIA_ROOT = stack.media  # the demo photos must be where the worker exports them from
        project = prepare_demo(settings, tmp_path, monkeypatch)
        yield TrainingStack(stack, project, stack.start_worker("trainer", queue="training"))
    finally:
        stacks.close()


def call(stack: Stack, token: str, method: str, path: str, body: dict | None = None) -> tuple[int, dict | list]:
    request = urllib.request.Request(
        stack.url + path,
        data=None if body is None else json.dumps(body).encode(),
        method=method,
        headers={"Authorization": f"Token {token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def wait_for_job(stack: Stack, token: str, job_id: int, worker: Process, timeout: float = 240.0) -> dict:
    def finished() -> dict | None:
        job = call(stack, token, "GET", f"/api/finetune/{job_id}/")[1]
        return job if job["status"] in ("succeeded", "failed") else None

    return wait_until(finished, timeout=timeout, every=0.5, what=f"job {job_id} to finish", details=worker.tail)


def assert_started_on(registry: Path, worker: Process) -> None:
    """The worker's start-up hooks (they run before its "ready." line) found the base model in ``registry``, and
    loaded no inference model."""
    startup = worker.output()
    assert f"training worker: model registry {registry} holds " in startup, startup
    assert "hrnet18-ocr64-cocolvis" in startup.split(f"model registry {registry} holds ")[1].splitlines()[0], startup
    # it runs no clicks: no inference model preloaded, none converted into <var>/cache (OpenVINO's IR)
    assert "default model" not in startup and not (registry.parent / "cache").exists(), startup


def test_finetune_runs_in_the_training_worker_then_the_project_switches(
    training_stack: TrainingStack, tmp_path: Path
) -> None:
    stack, project, worker = training_stack.stack, training_stack.project, training_stack.trainer
    users = get_user_model().objects
    manager, annotator = (token_for(users.get(username=f"demo-{who}")) for who in ("manager", "annotator"))
    finetune = f"/api/projects/{project.pk}/finetune/"
    assert_started_on(tmp_path / "var" / "models", worker)

    assert call(stack, annotator, "POST", finetune)[0] == 403
    status, started = call(stack, manager, "POST", finetune)
    assert status == 202 and started["status"] == "queued", started
    job = wait_for_job(stack, manager, started["id"], worker)
    assert job["status"] == "succeeded", f"{job['error']}\n{worker.tail()}"
    # the worker used the environment's tiny settings, and measured NoC with at most 2 clicks
    assert job["iterations"] == 2 and job["train_objects"] == 3 and job["heldout_objects"] == 1
    assert job["noc_after"]["max_clicks"] == 2 and 1 <= job["noc_after"]["noc90"] <= 2

    # the job's status is set inside the task; Celery logs "succeeded" once the task has returned
    log = worker.wait_for_log("] succeeded in", timeout=30)
    assert "Task training.run_finetune_job[" in log and "] received" in log, log
    new_model = f"hrnet18-ocr64-cocolvis-p{project.pk}-v1"
    assert job["result_model"] == new_model
    assert checkpoint_path(new_model) == tmp_path / "var" / "models" / f"{new_model}.pt"
    assert checkpoint_path(new_model).is_file()

    model = f"/api/projects/{project.pk}/model/"
    status, state = call(stack, manager, "GET", model)
    assert status == 200 and new_model in state["available"], state  # daphne sees the worker's registration
    assert call(stack, annotator, "PATCH", model, {"model": new_model})[0] == 403
    status, state = call(stack, manager, "PATCH", model, {"model": new_model})
    assert status == 200 and state["active"] == new_model, state
    assert call(stack, annotator, "GET", model)[1]["active"] == new_model
