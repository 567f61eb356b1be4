"""Export jobs of the embedded default run in a child process: same archive, the server's thread only waits, and a
child that dies fails its job with the reason instead of leaving it running."""

import io
import logging
import os
import sys
import zipfile
from pathlib import Path

import dj_database_url
import pytest
from django.db import connection

from backend.exports import child_process
from backend.exports.child_process import database_url
from backend.exports.models import ExportJob
from backend.exports.tasks import export_jobs
from tests.conftest import World
from tests.waiting import wait_until

pytestmark = pytest.mark.django_db(transaction=True)  # the child process reads what the test wrote


@pytest.fixture(autouse=True)
def _exports_in_child_processes(settings, tmp_path):
    settings.EXPORTS_BACKEND = "process"
    settings.EXPORTS_DIR = str(tmp_path / "exports")
    yield
    export_jobs.drain()


def start(world: World, **body) -> int:
    response = world.client("manager").post(f"/api/projects/{world.project.pk}/exports/", body, format="json")
    assert response.status_code == 202, response.content
    return response.json()["id"]


def archive_entries(world: World, job_id: int) -> dict[str, bytes]:
    job = world.client("manager").get(f"/api/exports/{job_id}/").json()
    assert job["status"] == "succeeded", job
    response = world.client("manager").get(job["download"])
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    return {name: archive.read(name) for name in archive.namelist()}


def test_a_child_process_writes_the_same_archive_as_this_process(world: World, settings, caplog) -> None:
    caplog.set_level(logging.INFO, logger="backend.exports.child_process")
    in_child = start(world, format="voc")
    export_jobs.drain()  # the export thread waits for its child
    [record] = [r for r in caplog.records if r.getMessage().startswith(f"export job {in_child}: child process")]
    assert "exited with code 0" in record.getMessage() and "peak_rss_mib=" in record.getMessage()
    settings.EXPORTS_BACKEND = "local"
    here = start(world, format="voc")
    export_jobs.drain()  # run in the export thread itself
    assert not [r for r in caplog.records if r.getMessage().startswith(f"export job {here}:")]
    assert archive_entries(world, in_child) == archive_entries(world, here)


def test_a_killed_child_fails_its_job_with_the_reason(world: World, monkeypatch) -> None:
    suicide = [sys.executable, "-c", "import os, signal; os.kill(os.getpid(), signal.SIGKILL)"]
    monkeypatch.setattr(child_process, "child_command", lambda job_id: suicide)
    job_id = start(world, format="coco")
    export_jobs.drain()
    job = ExportJob.objects.get(pk=job_id)
    assert job.status == "failed" and job.finished_at is not None
    assert job.error == "The export process ended before the archive was written: it was killed by SIGKILL."
    response = world.client("manager").get(f"/api/exports/{job_id}/download")
    assert response.status_code == 409 and response.json()["error"] == "export_not_ready"


def test_the_database_reaches_the_child_as_a_url_it_reads_back() -> None:
    this = connection.settings_dict
    again = dj_database_url.parse(database_url(this))
    assert again["ENGINE"] == this["ENGINE"] and again["NAME"] == this["NAME"]
    if "postgresql" in this["ENGINE"]:
        assert (again["USER"], again["HOST"], str(again["PORT"])) == (this["USER"], this["HOST"], str(this["PORT"]))
    awkward = {**this, "ENGINE": "django.db.backends.postgresql", "USER": "a b", "PASSWORD": "p@ss:/word%",
               "HOST": "db.example", "PORT": 5433, "NAME": "edge flow", "OPTIONS": {"sslmode": "require"}}  # fmt: skip
    parsed = dj_database_url.parse(database_url(awkward))
    assert [parsed[k] for k in ("USER", "PASSWORD", "HOST", "PORT", "NAME")] == ["a b", "p@ss:/word%", "db.example",
                                                                                 5433, "edge flow"]  # fmt: skip
    assert parsed["OPTIONS"] == {"sslmode": "require"}
    with pytest.raises(ValueError, match="do not know the database engine"):
        database_url({**this, "ENGINE": "django.db.backends.oracle"})


HANGING = "import os, sys, time; open(sys.argv[1], 'w').write(str(os.getpid())); time.sleep(600)"


def hanging_child(monkeypatch, tmp_path) -> Path:
    """Children that write their pid to the returned file, then hang."""
    pid_file = tmp_path / "child.pid"
    monkeypatch.setattr(child_process, "child_command", lambda job_id: [sys.executable, "-c", HANGING, str(pid_file)])
    return pid_file


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_a_child_past_the_export_timeout_is_killed_and_its_job_fails(world: World, settings, monkeypatch, tmp_path):
    settings.EXPORT_TIMEOUT_S = 1
    pid_file = hanging_child(monkeypatch, tmp_path)
    job_id = start(world, format="coco")
    export_jobs.drain()  # returns only once the child was killed and reaped
    job = ExportJob.objects.get(pk=job_id)
    assert job.status == "failed" and job.error == "The export did not finish within 1 s (EXPORT_TIMEOUT_S)."
    assert gone(int(pid_file.read_text()))


def test_deleting_a_running_export_kills_its_child(world: World, monkeypatch, tmp_path) -> None:
    pid_file = hanging_child(monkeypatch, tmp_path)
    job_id = start(world, format="coco")
    wait_until(lambda: pid_file.is_file() and pid_file.read_text(), timeout=60, what="the child to start")
    assert world.client("manager").delete(f"/api/exports/{job_id}/").status_code == 204
    export_jobs.drain()  # returns only once the child was killed and reaped
    assert gone(int(pid_file.read_text())) and not ExportJob.objects.filter(pk=job_id).exists()
