"""Reads: a project's jobs and the models it may use."""

from django.conf import settings
from django.db.models import QuerySet
from django.http import Http404

from backend.projects.access import get_project_for
from backend.projects.models import Project, Role
from backend.training.models import FineTuneJob
from backend.training.naming import owner_project
from ml.weights.registry import registered_names


def project_jobs(*, project: Project) -> QuerySet[FineTuneJob]:
    return FineTuneJob.objects.filter(project=project).order_by("-id")


def get_job_for(user, job_id: int) -> tuple[FineTuneJob, Role]:
    """The job and the caller's role in its project (404 for non-members, like the project itself)."""
    job = FineTuneJob.objects.filter(pk=job_id).first()
    if job is None:
        raise Http404("No such fine-tuning job.")
    project, role = get_project_for(user, job.project_id)
    job.project = project
    return job, role


def active_model(project: Project) -> str:
    return project.default_model or settings.DEFAULT_MODEL_NAME


def project_models(project: Project) -> list[str]:
    """Registered models the project may use: the general ones and its own fine-tuned versions."""
    return [name for name in registered_names() if owner_project(name) in (None, project.pk)]
