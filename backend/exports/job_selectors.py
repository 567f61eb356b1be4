"""Reads: a project's export jobs, one job with the caller's role in its project."""

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet
from django.http import Http404

from backend.exports.models import ExportJob
from backend.projects.access import get_project_for
from backend.projects.models import Project, Role


def project_exports(*, project: Project) -> QuerySet[ExportJob]:
    return ExportJob.objects.filter(project=project).select_related("requested_by").order_by("-id")


def get_export_for(user: AbstractBaseUser, job_id: int) -> tuple[ExportJob, Role]:
    """The job and the caller's role in its project (404 for non-members, like the project itself)."""
    job = ExportJob.objects.select_related("requested_by").filter(pk=job_id).first()
    if job is None:
        raise Http404("No such export.")
    project, role = get_project_for(user, job.project_id)
    job.project = project
    return job, role
