"""The embedded default (no DATABASE_URL, no REDIS_URL): SQLite under var/, demo content, a save."""

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.conftest import REPO_DIR
from tests.http import call
from tests.live_stack import Stack

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


WRITES_PER_WRITER = 10


def test_concurrent_writers_on_sqlite_never_get_a_500(embedded_env: dict, tmp_path) -> None:
    """Several requests writing at once to the embedded default's SQLite wait for each other (WAL, busy timeout,
    immediate transactions) instead of failing with "database is locked"."""
    manage("migrate", "--noinput", env=embedded_env)
    manage("load_demo", env=embedded_env)
    logs = tmp_path / "logs"
    logs.mkdir()
    stack = Stack("", "", {**embedded_env, "PYTHONUNBUFFERED": "1"}, logs)
    try:
        stack.start_daphne("daphne-sqlite")
        login = {"username": "demo-annotator", "password": "demo-annotator"}
        token = call("POST", f"{stack.url}/api/auth/token/", form=login).json()["token"]
        headers = {"Authorization": f"Token {token}"}

        def get(path: str):
            return call("GET", f"{stack.url}{path}", headers=headers).json()

        project = get("/api/projects/")[0]
        image = get(f"/api/projects/{project['id']}/images/")["results"][0]
        label = get(f"/api/projects/{project['id']}/labels/")[0]["id"]
        objects_url = f"{stack.url}/api/images/{image['id']}/objects/"

        def writer(index: int) -> list[int]:
            square = [{"outer": [[5 + index, 5], [40 + index, 5], [40 + index, 40], [5 + index, 40]], "holes": []}]
            created = call("POST", objects_url, json_body={"label": label, "polygons": square}, headers=headers)
            statuses = [created.status]
            if created.status != 201:
                return statuses
            obj = created.json()
            for _ in range(WRITES_PER_WRITER):  # a count, not a duration: as many writes on a busy machine
                change = {"version": obj["version"], "clicks_used": obj["version"]}
                changed = call("PATCH", f"{stack.url}/api/objects/{obj['id']}/", json_body=change, headers=headers)
                statuses.append(changed.status)
                if changed.status == 200:
                    obj = changed.json()
            return statuses

        with ThreadPoolExecutor(max_workers=4) as pool:
            statuses = [status for result in pool.map(writer, range(4)) for status in result]
    finally:
        stack.stop()
    assert statuses.count(500) == 0, (
        f"{statuses.count(500)} of {len(statuses)} writes failed:\n{stack.processes[0].output()[-3000:]}"
    )
    assert set(statuses) <= {200, 201} and len(statuses) == 4 * (1 + WRITES_PER_WRITER)
