"""Exports in team mode, for real: daphne queues the job on Redis, a Celery worker on the ``default`` queue writes
the archive to the shared media folder, and daphne serves it."""

import io
import urllib.request
import zipfile
from collections.abc import Iterator

import pytest

from tests.backend.test_finetune_team_mode import call
from tests.conftest import World
from tests.live_stack import Process, Stack, run_stack, token_for
from tests.waiting import wait_until


@pytest.fixture
def team(tmp_path_factory, transactional_db, settings, request) -> Iterator[tuple[Stack, World, Process]]:
    stacks = run_stack(tmp_path_factory, team=True, workers=0)
    stack = next(stacks)
    try:
        settings.MEDIA_ROOT = stack.media  # the world's images where the worker reads them
        world = request.getfixturevalue("world")
        yield stack, world, stack.start_worker("exporter", queue="default")
    finally:
        stacks.close()


def test_an_export_runs_in_the_default_queue_worker_and_downloads_from_daphne(team) -> None:
    stack, world, worker = team
    manager = token_for(world.users["manager"])
    status, job = call(stack, manager, "POST", f"/api/projects/{world.project.pk}/exports/", {"format": "voc"})
    assert status == 202 and job["status"] == "queued", job

    def finished() -> dict | None:
        state = call(stack, manager, "GET", f"/api/exports/{job['id']}/")[1]
        return state if state["status"] in ("succeeded", "failed") else None

    done = wait_until(finished, timeout=120, every=0.2, what="the export", details=worker.tail)
    assert done["status"] == "succeeded", f"{done['error']}\n{worker.tail()}"
    assert "Task exports.run_export_job[" in worker.wait_for_log("] succeeded in", timeout=30)
    download = urllib.request.Request(stack.url + f"/api/exports/{job['id']}/download",
                                      headers={"Authorization": f"Token {manager}"})  # fmt: skip
    with urllib.request.urlopen(download, timeout=30) as response:
        archive = zipfile.ZipFile(io.BytesIO(response.read()))
    assert {"JPEGImages/a.png", "JPEGImages/b.png", "SegmentationClass/a.png", "labelmap.txt"} <= set(
        archive.namelist()
    )
    assert done["size"] == int(response.headers["Content-Length"])
