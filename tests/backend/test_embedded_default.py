"""The embedded default (no DATABASE_URL, no REDIS_URL): SQLite under var/, demo content, a save."""

import os
import subprocess
import sys

import pytest

from tests.conftest import REPO_DIR

SAVE_ONE_OBJECT = """
from backend.annotations.services import object_create, object_update
from backend.common.errors import Conflict
from backend.images.models import Image
from django.contrib.auth.models import User
image = Image.objects.filter(batch__assignee__username="demo-annotator").first()
annotator = User.objects.get(username="demo-annotator")
label = image.project.labels.first()
square = [{"outer": [[5, 5], [50, 5], [50, 50], [5, 50]], "holes": []}]
obj = object_create(image=image, author=annotator, label_id=label.pk, polygons=square)
object_update(obj=obj, author=annotator, version=1, clicks_used=2)
try:
    object_update(obj=obj, author=annotator, version=1, clicks_used=3)
except Conflict:
    print("conflict ok")
obj.refresh_from_db()
print("saved", obj.version, obj.area)
"""


def manage(*args: str, env: dict) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=REPO_DIR, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


@pytest.fixture
def embedded_env(tmp_path) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "SECRET_KEY"}}
    env["EDGEFLOW_VAR_DIR"] = str(tmp_path / "var")
    return env


def test_migrations_demo_and_a_save_work_on_sqlite(embedded_env: dict, tmp_path) -> None:
    manage("migrate", "--noinput", env=embedded_env)
    assert (tmp_path / "var" / "edgeflow.sqlite3").exists()
    assert (tmp_path / "var" / "secret_key").exists()
    out = manage("load_demo", env=embedded_env)
    for role in ("admin", "manager", "annotator", "reviewer"):
        assert f"demo-{role} / demo-{role}" in out
    assert "Demo project" in out
    saved = manage("shell", "-c", SAVE_ONE_OBJECT, env=embedded_env)
    assert "conflict ok" in saved and "saved 2 2116" in saved
    again = manage("load_demo", env=embedded_env)  # idempotent: refreshes passwords, no second project
    assert "Demo project #1" in again


def test_migrations_are_checked_in(embedded_env: dict) -> None:
    manage("makemigrations", "--check", "--dry-run", env=embedded_env)
