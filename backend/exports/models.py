"""Export jobs: one archive of a project in one format, written in the background to a file (``exports_dir``)."""

from pathlib import Path

from django.conf import settings
from django.db import models
from django.db.models.signals import post_delete
from django.dispatch import receiver

from backend.common.job_status import JobStatus
from backend.projects.models import Project


def exports_dir() -> Path:
    """Where archives are written: EXPORTS_DIR, else MEDIA_ROOT/exports (read at each use)."""
    return Path(settings.EXPORTS_DIR or Path(settings.MEDIA_ROOT) / "exports")


class ExportJob(models.Model):
    """``filters`` are the image-list filters chosen ({status, batch, search}, as typed in a URL);
    ``file_path`` is relative to EXPORTS_DIR and set once the archive is complete."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="export_jobs")
    format = models.CharField(max_length=20)
    filters = models.JSONField(default=dict, blank=True)
    include_images = models.BooleanField(default=True)
    include_patient_data = models.BooleanField(
        default=False, help_text="A manager opted in: DICOM patient-identifying attributes are exported too."
    )
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    status = models.CharField(max_length=20, choices=JobStatus.choices, default=JobStatus.QUEUED)
    progress = models.FloatField(default=0.0, help_text="0..1")
    images = models.PositiveIntegerField(default=0, help_text="images in the export, once known")
    error = models.TextField(blank=True, default="")
    file_path = models.CharField(max_length=500, blank=True, default="")
    size = models.BigIntegerField(null=True, blank=True, help_text="bytes of the archive")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["status", "finished_at"])]

    def __str__(self) -> str:
        return f"export {self.pk} of project {self.project_id} ({self.format}, {self.status})"

    @property
    def path(self) -> Path | None:
        return exports_dir() / self.file_path if self.file_path else None


@receiver(post_delete, sender=ExportJob)
def _delete_archive(sender: type[ExportJob], instance: ExportJob, **kwargs: object) -> None:
    """A deleted job (its own delete, its project's, a sweep) takes its archive with it."""
    if instance.path is not None:
        instance.path.unlink(missing_ok=True)
