"""Write paths of export jobs: start one, delete one, sweep old and dead ones."""

from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from backend.common.errors import InvalidInput
from backend.common.job_status import ACTIVE_STATUSES, FINISHED_STATUSES, JobStatus
from backend.exports.formats import FORMATS
from backend.exports.models import ExportJob
from backend.exports.tasks import dispatch
from backend.images.models import Image
from backend.images.selectors import filter_images
from backend.projects.models import Project

FILTERS = ("status", "batch", "search")


def checked_format(name: str | None) -> str:
    if (name or "coco") in FORMATS:
        return name or "coco"
    raise InvalidInput(f"Unknown export format {str(name)[:40]!r}; use one of {', '.join(FORMATS)}.", code="bad_format")


def checked_filters(filters: dict[str, str | None]) -> dict[str, str]:
    """The non-empty image-list filters, checked now (a malformed one is a 400, not a failed job)."""
    kept = {key: str(filters[key]) for key in FILTERS if filters.get(key)}
    filter_images(Image.objects.none(), **kept)
    return kept


@transaction.atomic
def export_start(
    *,
    project: Project,
    user: AbstractBaseUser | None,
    fmt: str,
    filters: dict[str, str | None],
    include_images: bool,
    include_patient_data: bool = False,
    dispatched: bool = True,
) -> ExportJob:
    """Queue an export of the project's images matching ``filters``; run once the transaction commits.

    ``dispatched=False`` only records it (the caller runs it: ``jobs.run_export``)."""
    exports_sweep()
    job = ExportJob.objects.create(
        project=project,
        format=checked_format(fmt),
        filters=checked_filters(filters),
        include_images=include_images,
        include_patient_data=include_patient_data,
        requested_by=user,
    )
    if dispatched:
        transaction.on_commit(lambda: dispatch(job.pk))
    return job


@transaction.atomic
def export_delete(*, job: ExportJob) -> None:
    """Forget the job and delete its archive (a running job's file is deleted when it finishes)."""
    job.delete()


def exports_sweep(*, now: datetime | None = None) -> int:
    """Mark jobs active past EXPORT_TIMEOUT_S failed (their worker died); delete the jobs, and their archives,
    finished more than EXPORT_RETENTION_HOURS ago. How many jobs were deleted."""
    now = now or timezone.now()
    ExportJob.objects.filter(
        status__in=ACTIVE_STATUSES, created_at__lt=now - timedelta(seconds=settings.EXPORT_TIMEOUT_S)
    ).update(status=JobStatus.FAILED, error="Interrupted: the export did not finish in time.", finished_at=now)
    expired = ExportJob.objects.filter(
        status__in=FINISHED_STATUSES, finished_at__lt=now - timedelta(hours=settings.EXPORT_RETENTION_HOURS)
    )
    deleted, _ = expired.delete()  # post_delete removes each archive
    return deleted
