"""Exports as jobs: started through the API, run in the server's export thread, followed, downloaded, swept."""

import io
import json
import threading
import zipfile
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.management import call_command
from django.utils import timezone

from backend.annotations.models import AnnotationObject
from backend.common.job_status import JobStatus
from backend.exports.coco import coco_files
from backend.exports.contents import ExportContents, export_contents
from backend.exports.formats import FORMATS, Format
from backend.exports.job_services import export_start, exports_sweep
from backend.exports.jobs import run_export
from backend.exports.labelme import labelme_files
from backend.exports.models import ExportJob
from backend.exports.tasks import export_jobs
from backend.images.models import Image
from tests.conftest import World
from tests.waiting import wait_until

pytestmark = pytest.mark.django_db(transaction=True)  # the export thread reads what the test wrote


@pytest.fixture(autouse=True)
def _exports_in_a_thread(settings, tmp_path):
    settings.EXPORTS_BACKEND = "local"
    settings.EXPORTS_DIR = str(tmp_path / "exports")
    yield
    export_jobs.drain()  # nothing runs while the database is flushed


def start(world: World, who: str = "manager", **body) -> dict:
    response = world.client(who).post(f"/api/projects/{world.project.pk}/exports/", body, format="json")
    assert response.status_code == 202, response.content
    assert response["Location"].endswith(f"/api/exports/{response.json()['id']}/")
    return response.json()


def finished(world: World, job_id: int) -> dict:
    def state() -> dict | None:
        job = world.client("manager").get(f"/api/exports/{job_id}/").json()
        return job if job["status"] in ("succeeded", "failed") else None

    return wait_until(state, timeout=60, what=f"export {job_id} to finish")


def download(world: World, job_id: int, who: str = "manager"):
    return world.client(who).get(f"/api/exports/{job_id}/download")


class Gate:
    """A format that waits, inside the running job, until the test opens it (then writes COCO)."""

    def __init__(self) -> None:
        self.entered, self.opened = threading.Event(), threading.Event()

    def files(self, contents: ExportContents) -> Iterator[tuple[str, bytes | Iterator[bytes]]]:
        self.entered.set()
        assert self.opened.wait(30)
        yield from coco_files(contents)


@pytest.fixture
def gate(monkeypatch) -> Gate:
    gate = Gate()
    monkeypatch.setitem(FORMATS, "gated", Format("gated", "images", gate.files))
    return gate


def test_a_job_is_queued_runs_and_succeeds_with_its_file(world: World, gate: Gate) -> None:
    busy = threading.Event()
    export_jobs.in_thread(busy.wait, 30)  # the export thread is busy: the new job waits its turn
    job = start(world, format="gated", status="new,in_progress,submitted,accepted,rejected")
    assert job["status"] == "queued" and job["progress"] == 0 and job["download"] is None
    assert world.client("manager").get(f"/api/exports/{job['id']}/").json()["status"] == "queued"
    busy.set()
    assert gate.entered.wait(30)
    running = world.client("manager").get(f"/api/exports/{job['id']}/").json()
    assert running["status"] == "running" and running["started_at"] and running["images"] == 2
    # The API answers while the job, held at the gate, runs in the server's export thread.
    listed = world.client("manager").get(f"/api/projects/{world.project.pk}/exports/")
    assert listed.status_code == 200
    assert [j["status"] for j in listed.json()] == ["running"]
    gate.opened.set()
    done = finished(world, job["id"])
    assert done["status"] == "succeeded" and done["progress"] == 1.0 and done["error"] == ""
    assert done["download"].endswith(f"/api/exports/{job['id']}/download") and done["expires_at"]
    path = ExportJob.objects.get(pk=job["id"]).path
    assert done["size"] == path.stat().st_size > 0
    response = download(world, job["id"])
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"] == 'attachment; filename="World-gated.zip"'
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    assert {"annotations/instances_default.json", "images/a.png", "images/b.png"} <= set(archive.namelist())
    document = json.loads(archive.read("annotations/instances_default.json"))
    assert [a["id"] for a in document["annotations"]] == [world.obj.pk]


def test_only_managers_and_admins_see_and_download_exports(world: World) -> None:
    job = start(world, format="voc", images=False)
    finished(world, job["id"])
    assert download(world, job["id"], "admin").status_code == 200
    for who in ("annotator", "reviewer"):
        assert download(world, job["id"], who).status_code == 403
        assert world.client(who).get(f"/api/exports/{job['id']}/").status_code == 403
        assert world.client(who).post(f"/api/projects/{world.project.pk}/exports/", {}).status_code == 403
    assert download(world, job["id"], "outsider").status_code == 404
    assert world.client("outsider").get(f"/api/exports/{job['id']}/").status_code == 404
    assert download(world, 10**9).status_code == 404


def test_the_chosen_images_and_filters_are_exported(world: World) -> None:
    job = start(world, format="coco", images=False, batch=str(world.batch.pk))
    assert job["filters"] == {"batch": str(world.batch.pk)} and job["include_images"] is False
    finished(world, job["id"])
    archive = zipfile.ZipFile(io.BytesIO(b"".join(download(world, job["id"]).streaming_content)))
    assert archive.namelist() == ["annotations/instances_default.json", "images/"]
    document = json.loads(archive.read("annotations/instances_default.json"))
    assert [i["file_name"] for i in document["images"]] == ["a.png"]


def test_bad_requests_start_nothing(world: World) -> None:
    client = world.client("manager")
    url = f"/api/projects/{world.project.pk}/exports/"
    assert client.post(url, {"format": "bmp"}, format="json").json()["error"] == "bad_format"
    assert client.post(url, {"status": "done"}, format="json").json()["error"] == "bad_filter"
    assert client.post(url, {"batch": "x"}, format="json").json()["error"] == "bad_filter"
    assert client.post(url, {"images": "maybe"}, format="json").json() == {"images": ["Must be a valid boolean."]}
    assert not ExportJob.objects.exists()


def test_a_failure_is_recorded_and_nothing_is_downloadable(world: World, settings) -> None:
    Path(world.free_image.file.path).unlink()  # the stored file is gone from the disk
    job = finished(world, start(world, format="coco")["id"])
    assert job["status"] == "failed" and "FileNotFoundError" in job["error"] and job["download"] is None
    response = download(world, job["id"])
    assert response.status_code == 409 and response.json()["error"] == "export_not_ready"
    assert not [p for p in Path(settings.EXPORTS_DIR).rglob("*") if p.is_file()]  # no partial archive left


def test_delete_removes_the_job_and_its_archive(world: World) -> None:
    job = finished(world, start(world, format="voc")["id"])
    path = ExportJob.objects.get(pk=job["id"]).path
    assert path.exists()
    assert world.client("manager").delete(f"/api/exports/{job['id']}/").status_code == 204
    assert not path.exists() and not ExportJob.objects.filter(pk=job["id"]).exists()
    assert world.client("manager").get(f"/api/exports/{job['id']}/").status_code == 404


def test_retention_deletes_old_exports_and_fails_dead_ones(world: World, settings) -> None:
    settings.EXPORT_RETENTION_HOURS = 2
    old, recent = (finished(world, start(world, format="coco", images=False)["id"]) for _ in range(2))
    old_path = ExportJob.objects.get(pk=old["id"]).path
    ExportJob.objects.filter(pk=old["id"]).update(finished_at=timezone.now() - timedelta(hours=3))
    dead = export_start(
        project=world.project, user=None, fmt="coco", filters={}, include_images=False, dispatched=False
    )
    ExportJob.objects.filter(pk=dead.pk).update(created_at=timezone.now() - timedelta(hours=3))
    listed = world.client("manager").get(f"/api/projects/{world.project.pk}/exports/").json()
    assert [(j["id"], j["status"]) for j in listed] == [(dead.pk, "failed"), (recent["id"], "succeeded")]
    assert not old_path.exists() and ExportJob.objects.get(pk=recent["id"]).path.exists()
    ExportJob.objects.filter(pk=dead.pk).update(finished_at=timezone.now() - timedelta(hours=3))
    out = io.StringIO()
    call_command("sweep_exports", stdout=out)
    assert "deleted 1 expired export" in out.getvalue()
    assert list(ExportJob.objects.values_list("pk", flat=True)) == [recent["id"]]
    assert exports_sweep(now=timezone.now() + timedelta(hours=3)) == 1


def test_progress_rises_through_every_pass_and_chunk(world: World, monkeypatch) -> None:
    monkeypatch.setattr("backend.exports.contents.CHUNK_IMAGES", 1)
    seen: list[float] = []
    job = export_start(project=world.project, user=None, fmt="coco", filters={}, include_images=True, dispatched=False)

    def files(contents: ExportContents):
        for path, data in coco_files(contents):
            yield path, (chunk for chunk in data if not seen.append(ExportJob.objects.get(pk=job.pk).progress))

    monkeypatch.setitem(FORMATS, "coco", Format("coco", "images", files, passes=2))
    run_export(job.pk)
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED and job.progress == 1.0
    assert seen == sorted(seen) and 0 < max(seen) < 1  # rising, after every chunk of 1 image, below 1 until done


def test_the_command_line_exports_and_imports(world: World, tmp_path) -> None:
    out = tmp_path / "world.zip"
    call_command("export_project", world.project.pk, "--format", "coco", "--out", str(out), "--no-images",
                 stdout=io.StringIO(), stderr=io.StringIO())  # fmt: skip
    document = zipfile.ZipFile(out).read("annotations/instances_default.json")
    (tmp_path / "coco.json").write_bytes(document)
    mask = world.obj.mask_rle
    AnnotationObject.objects.all().delete()
    report = io.StringIO()
    call_command("import_project", world.project.pk, str(tmp_path / "coco.json"), "--format", "coco",
                 "--user", "manager", stdout=report, stderr=io.StringIO())  # fmt: skip
    assert "created 1," in report.getvalue()
    assert AnnotationObject.objects.get().mask_rle["counts"] == mask["counts"]


def test_the_import_api_reads_labelme(world: World) -> None:
    contents = export_contents(project=world.project, images=Image.objects.filter(project=world.project))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path, data in labelme_files(contents):
            archive.writestr(path, data)
    AnnotationObject.objects.all().delete()
    upload = io.BytesIO(buffer.getvalue())
    upload.name = "labelme.zip"
    response = world.client("manager").post(
        f"/api/projects/{world.project.pk}/import", {"file": upload, "type": "labelme"}, format="multipart"
    )
    assert response.status_code == 200, response.content
    assert response.json()["created"] == 1 and response.json()["skipped"] == []
    bad = world.client("manager").post(
        f"/api/projects/{world.project.pk}/import", {"file": io.BytesIO(b"{}"), "type": "pdf"}, format="multipart"
    )
    assert bad.status_code == 400
