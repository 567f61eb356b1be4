"""Write paths: start a fine-tuning job, switch a project's active model."""

from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone
from rest_framework.exceptions import PermissionDenied

from backend.common.errors import Conflict, InvalidInput
from backend.common.job_status import ACTIVE_STATUSES, JobStatus
from backend.projects.access import MANAGING_ROLES, role_in
from backend.projects.models import Project
from backend.training.export import accepted_objects
from backend.training.models import FineTuneJob
from backend.training.selectors import active_model, project_models
from backend.training.tasks import dispatch
from ml.weights.registry import is_registered


def _fail_stale_jobs(project: Project) -> None:
    """Jobs active for longer than FINETUNE_TIMEOUT_S died with their worker; mark them failed."""
    cutoff = timezone.now() - timedelta(seconds=settings.FINETUNE_TIMEOUT_S)
    FineTuneJob.objects.filter(project=project, status__in=ACTIVE_STATUSES, created_at__lt=cutoff).update(
        status=JobStatus.FAILED, error="Interrupted: the job did not finish in time.", finished_at=timezone.now()
    )


@transaction.atomic
def finetune_start(*, project: Project, user: AbstractBaseUser) -> FineTuneJob:
    """Queue a job that fine-tunes the project's active model on its accepted objects (managers only)."""
    if role_in(user, project) not in MANAGING_ROLES:
        raise PermissionDenied("Only managers and admins may fine-tune the project's model.")
    Project.objects.select_for_update().filter(pk=project.pk).first()  # one start at a time per project
    _fail_stale_jobs(project)
    if FineTuneJob.objects.filter(project=project, status__in=ACTIVE_STATUSES).exists():
        raise Conflict("A fine-tuning job is already running for this project.", code="job_running")
    base = active_model(project)
    if not is_registered(base):
        raise InvalidInput(f"The project's model {base!r} is not installed on this server.", code="unknown_model")
    count = accepted_objects(project).count()
    if count < settings.FINETUNE_MIN_OBJECTS:
        raise InvalidInput(
            f"Fine-tuning needs at least {settings.FINETUNE_MIN_OBJECTS} objects on accepted images; "
            f"this project has {count}.",
            code="too_few_objects",
        )
    job = FineTuneJob.objects.create(project=project, created_by=user, base_model=base)
    transaction.on_commit(lambda: dispatch(job.pk))
    return job


@transaction.atomic
def project_set_model(*, project: Project, model: str) -> Project:
    """Make ``model`` the project's active model; ``""`` goes back to the server default."""
    if model and model not in project_models(project):
        raise InvalidInput(
            f"Unknown model {model!r} for this project; choose one of {', '.join(project_models(project))}.",
            code="unknown_model",
        )
    project.default_model = model
    project.save(update_fields=["default_model"])
    return project
