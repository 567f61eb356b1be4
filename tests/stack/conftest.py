"""The multi-process stack (deploy/stack.py) for the fault tests: one per test module, with the demo project.

Its own PostgreSQL cluster and Redis (free ports, nothing shared with the suite's database or Redis), 2 daphnes
behind nginx, 2 inference workers, no jobs worker (no test here exports or fine-tunes). The run dir is temporary;
the units' logs stay in ``$TEST_ARTIFACTS_DIR/stack/<module>/`` for a failed run's post-mortem.
"""

import os
import shutil
from pathlib import Path

import pytest

from deploy.stack import Stack, postgres_bin
from tests.conftest import REPO_DIR
from tests.stack.stack_clients import Demo, demo_of


def _missing() -> str | None:
    if not shutil.which("nginx") and not Path("/usr/sbin/nginx").exists():
        return "nginx is not installed (make services)"
    if not shutil.which("redis-server"):
        return "redis-server is not installed (make services)"
    try:
        postgres_bin()
    except RuntimeError as exc:
        return str(exc)
    return None


def start_stack(request, **env: str) -> Stack:
    missing = _missing()
    if missing:
        pytest.skip(missing)
    artifacts = Path(os.environ.get("TEST_ARTIFACTS_DIR", REPO_DIR / "test-artifacts"))
    logs = artifacts / "stack" / request.module.__name__.rsplit(".", 1)[-1]
    shutil.rmtree(logs, ignore_errors=True)
    stack = Stack(
        web=2,
        inference_workers=2,
        jobs_workers=0,
        port=0,
        ephemeral=True,
        logs=logs,
        demo=True,
        collectstatic=False,  # the static files are served from frontend/dist and the apps (WHITENOISE_USE_FINDERS)
        env_overrides={"INFERENCE_TIMEOUT_S": "15", **env},
        say=lambda text: None,
    )
    return stack.started()


@pytest.fixture(scope="module")
def stack(request):
    started = start_stack(request, **getattr(request.module, "STACK_ENV", {}))
    yield started
    started.stop()


@pytest.fixture(scope="module")
def demo(stack) -> Demo:
    return demo_of(stack)
