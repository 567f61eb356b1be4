"""Fine-tune on the demo project for real (a tiny run), then switch the project to the new model and back."""

import time

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from rest_framework.test import APIClient

from backend.annotations.services import object_create
from backend.common.job_status import JobStatus
from backend.images.models import Image, ImageStatus
from backend.interactive.context import load_context
from backend.projects.models import Project
from backend.training.models import FineTuneJob
from ml.weights.registry import checkpoint_path

# Rough outlines (x, y) of real objects in the demo photos (512×512 or so): enough for a tiny run.
OUTLINES = {
    "chelsea.jpg": [[140, 20], [360, 20], [420, 200], [380, 300], [150, 300], [110, 200]],
    "coffee.jpg": [[120, 40], [500, 40], [500, 330], [120, 330]],
    "astronaut.jpg": [[150, 40], [340, 40], [360, 250], [440, 512], [80, 512], [140, 250]],
    "rocket.jpg": [[200, 20], [260, 20], [270, 380], [190, 380]],
}


def _client(username: str) -> APIClient:
    client = APIClient()
    client.force_authenticate(get_user_model().objects.get(username=username))
    return client


def prepare_demo(settings, tmp_path, monkeypatch) -> Project:
    """The demo project with four accepted images, one outlined object each; a private model registry;
    tiny fine-tuning settings (2 iterations, 64×96 crops, 2 held-out clicks)."""
    settings.TRAINING_BACKEND = "local"
    settings.FINETUNE_ITERATIONS = 2
    settings.FINETUNE_CROP_SIZE = (64, 96)
    settings.FINETUNE_VAL_MAX_CLICKS = 2
    settings.FINETUNE_THREADS = 2
    pretrained = checkpoint_path("hrnet18-ocr64-cocolvis")
    monkeypatch.setenv("EDGEFLOW_VAR_DIR", str(tmp_path / "var"))
    checkpoint_path("hrnet18-ocr64-cocolvis").parent.mkdir(parents=True)
    checkpoint_path("hrnet18-ocr64-cocolvis").symlink_to(pretrained)
    call_command("load_demo")
    project = Project.objects.get(name="Demo project")
    author = get_user_model().objects.get(username="demo-annotator")
    label = project.labels.first()
    for name, outline in OUTLINES.items():
        image = Image.objects.get(project=project, original_name=name)
        clipped = [[min(x, image.width - 1), min(y, image.height - 1)] for x, y in outline]
        object_create(image=image, author=author, label_id=label.pk, polygons=[{"outer": clipped, "holes": []}])
    Image.objects.filter(project=project, original_name__in=list(OUTLINES)).update(status=ImageStatus.ACCEPTED)
    return project


@pytest.fixture
def demo(settings, tmp_path, monkeypatch) -> Project:
    return prepare_demo(settings, tmp_path, monkeypatch)


def _wait(client: APIClient, job_id: int, timeout: float = 240.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.get(f"/api/finetune/{job_id}/").json()
        if job["status"] in (JobStatus.SUCCEEDED, JobStatus.FAILED):
            return job
        time.sleep(0.5)
    raise AssertionError(f"job {job_id} did not finish: {job}")


@pytest.mark.django_db(transaction=True)
def test_finetune_demo_project_then_switch_model_and_back(demo: Project) -> None:
    manager, annotator = _client("demo-manager"), _client("demo-annotator")
    assert annotator.post(f"/api/projects/{demo.pk}/finetune/").status_code == 403

    started = manager.post(f"/api/projects/{demo.pk}/finetune/")
    assert started.status_code == 202, started.content
    assert started.json()["base_model"] == "hrnet18-ocr64-cocolvis"
    job = _wait(manager, started.json()["id"])
    assert job["status"] == "succeeded", job["error"]
    assert job["progress"] == 1.0 and job["train_objects"] == 3 and job["heldout_objects"] == 1
    for key in ("noc_before", "noc_after"):
        assert 1 <= job[key]["noc90"] <= 2 and 0 <= job[key]["miou"] <= 1 and job[key]["max_clicks"] == 2
    new_model = f"hrnet18-ocr64-cocolvis-p{demo.pk}-v1"
    assert job["result_model"] == new_model and checkpoint_path(new_model).is_file()
    assert [j["id"] for j in annotator.get(f"/api/projects/{demo.pk}/finetune/").json()] == [job["id"]]

    state = manager.get(f"/api/projects/{demo.pk}/model/").json()
    assert state["active"] == "hrnet18-ocr64-cocolvis" and new_model in state["available"]
    assert annotator.patch(f"/api/projects/{demo.pk}/model/", {"model": new_model}).status_code == 403
    switched = manager.patch(f"/api/projects/{demo.pk}/model/", {"model": new_model}, format="json")
    assert switched.status_code == 200 and switched.json()["active"] == new_model
    image = Image.objects.filter(project=demo, batch__isnull=False).exclude(status=ImageStatus.ACCEPTED).first()
    annotator_user = get_user_model().objects.get(username="demo-annotator")
    assert load_context(annotator_user, image.pk).default_model == new_model  # what the websocket will use

    back = manager.patch(f"/api/projects/{demo.pk}/model/", {"model": ""}, format="json")
    assert back.status_code == 200 and back.json()["active"] == "hrnet18-ocr64-cocolvis"
    unknown = manager.patch(f"/api/projects/{demo.pk}/model/", {"model": "nope"}, format="json")
    assert unknown.status_code == 400 and "nope" in unknown.content.decode()

    second = manager.post(f"/api/projects/{demo.pk}/finetune/")
    assert _wait(manager, second.json()["id"])["result_model"] == f"hrnet18-ocr64-cocolvis-p{demo.pk}-v2"


@pytest.mark.django_db
def test_finetune_refuses_clearly(demo: Project, client) -> None:
    manager = _client("demo-manager")
    FineTuneJob.objects.create(project=demo, base_model="hrnet18-ocr64-cocolvis", status=JobStatus.RUNNING)
    running = manager.post(f"/api/projects/{demo.pk}/finetune/")
    assert running.status_code == 409 and "already running" in running.content.decode()
    FineTuneJob.objects.all().delete()
    Image.objects.filter(project=demo).update(status=ImageStatus.SUBMITTED)
    too_few = manager.post(f"/api/projects/{demo.pk}/finetune/")
    assert too_few.status_code == 400 and "at least 2 objects" in too_few.content.decode()
    assert not FineTuneJob.objects.exists()


@pytest.mark.django_db
def test_project_page_shows_the_model_panel_to_managers_only(demo: Project, client) -> None:
    client.force_login(get_user_model().objects.get(username="demo-manager"))
    page = client.get(f"/projects/{demo.pk}/").content.decode()
    assert "Fine-tune on this project" in page and f'data-project="{demo.pk}"' in page
    client.force_login(get_user_model().objects.get(username="demo-annotator"))
    page = client.get(f"/projects/{demo.pk}/").content.decode()
    assert "Fine-tune on this project" not in page and "Model" in page
