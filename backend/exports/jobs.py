"""Running one export job: claim it, write its archive to a file under ``exports_dir()``, record the outcome.

Progress is stored after every chunk of images read (``contents.CHUNK_IMAGES``), as the fraction of the passes
over the images done so far (a format may read the images more than once; copying the image files is one more).
"""

import logging

from django.utils import timezone

from backend.common.job_status import JobStatus
from backend.exports.archive import write_archive
from backend.exports.formats import FORMATS, contents_for
from backend.exports.models import ExportJob, exports_dir
from backend.images.models import Image
from backend.images.selectors import filter_images

log = logging.getLogger(__name__)


class PassProgress:
    """Turns (images done, total) of successive passes over the images into one rising fraction below 1."""

    def __init__(self, job_id: int, passes: int) -> None:
        self.job_id, self.passes = job_id, max(passes, 1)
        self.completed = 0
        self.reported = 0.0

    def __call__(self, done: int, total: int) -> None:
        fraction = (self.completed + done / max(total, 1)) / max(self.passes, self.completed + 1)
        if done >= total:
            self.completed += 1
        fraction = min(round(fraction, 3), 0.99)
        if fraction > self.reported:
            self.reported = fraction
            ExportJob.objects.filter(pk=self.job_id).update(progress=fraction)


def archive_path(job: ExportJob) -> str:
    """Where the job's archive goes, relative to ``exports_dir()``."""
    return f"project-{job.project_id}/export-{job.pk}-{job.format}.zip"


def _claim(job_id: int) -> ExportJob | None:
    """The queued job, now running; None when it is gone or another run has it."""
    claimed = ExportJob.objects.filter(pk=job_id, status=JobStatus.QUEUED).update(
        status=JobStatus.RUNNING, started_at=timezone.now()
    )
    return ExportJob.objects.select_related("project").get(pk=job_id) if claimed else None


def _write(job: ExportJob) -> int:
    fmt = FORMATS[job.format]
    images = filter_images(Image.objects.filter(project=job.project), **job.filters)
    progress = PassProgress(job.pk, passes=fmt.passes + job.include_images)
    contents = contents_for(fmt, project=job.project, images=images, progress=progress)
    ExportJob.objects.filter(pk=job.pk).update(images=len(contents.images))
    relative = archive_path(job)
    size = write_archive(
        contents,
        fmt,
        include_images=job.include_images,
        destination=exports_dir() / relative,
        patient_data=job.include_patient_data,
    )
    job.file_path = relative
    return size


def run_export(job_id: int) -> None:
    """Write the job's archive and record success or the error; a job deleted meanwhile leaves no file."""
    job = _claim(job_id)
    if job is None:
        return
    try:
        size = _write(job)
    except Exception as exc:
        log.exception("export %s failed", job_id)
        ExportJob.objects.filter(pk=job_id).update(
            status=JobStatus.FAILED, error=f"{type(exc).__name__}: {exc}"[:2000], finished_at=timezone.now()
        )
        return
    finished = ExportJob.objects.filter(pk=job_id).update(
        status=JobStatus.SUCCEEDED,
        progress=1.0,
        file_path=job.file_path,
        size=size,
        finished_at=timezone.now(),
    )
    if not finished:  # deleted while it ran
        (exports_dir() / job.file_path).unlink(missing_ok=True)
