from django.conf import settings
from django.db import models

from backend.projects.models import Project


class ImageStatus(models.TextChoices):
    NEW = "new", "New"
    IN_PROGRESS = "in_progress", "In progress"
    SUBMITTED = "submitted", "Submitted"
    ACCEPTED = "accepted", "Accepted"
    REJECTED = "rejected", "Rejected"


class BatchStatus(models.TextChoices):
    OPEN = "open", "Open"
    SUBMITTED = "submitted", "Submitted"
    ACCEPTED = "accepted", "Accepted"
    REJECTED = "rejected", "Rejected"


class Batch(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="batches")
    name = models.CharField(max_length=200)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="assigned_batches"
    )
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="reviewed_batches"
    )
    status = models.CharField(max_length=20, choices=BatchStatus.choices, default=BatchStatus.OPEN)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]


def image_upload_path(instance: "Image", filename: str) -> str:
    return f"projects/{instance.project_id}/images/{filename}"


def thumbnail_upload_path(instance: "Image", filename: str) -> str:
    return f"projects/{instance.project_id}/thumbnails/{filename}"


class Image(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="images")
    batch = models.ForeignKey(Batch, null=True, blank=True, on_delete=models.SET_NULL, related_name="images")
    file = models.FileField(upload_to=image_upload_path, max_length=500)
    thumbnail = models.FileField(upload_to=thumbnail_upload_path, max_length=500)
    original_name = models.CharField(max_length=500)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    format = models.CharField(max_length=20)
    size_bytes = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    status = models.CharField(max_length=20, choices=ImageStatus.choices, default=ImageStatus.NEW)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    kind = models.CharField(
        max_length=20,
        default="photo",
        help_text="photo (8-bit, shown as stored) or a source shown through `display`: scalar, dicom, nifti, geotiff.",
    )
    slice_count = models.PositiveIntegerField(default=1, help_text="Slices of a stack (volume, series); 1 for 2-D.")
    band_count = models.PositiveSmallIntegerField(default=3, help_text="Samples per pixel as stored.")
    sample_type = models.CharField(max_length=20, default="uint8", help_text="numpy dtype of the stored samples.")
    display = models.JSONField(
        default=dict, blank=True, help_text="The display mapping of a source (backend.images.display); {} for photos."
    )
    presets = models.JSONField(default=list, blank=True, help_text="Window presets: [{name, center, width}].")
    meta = models.JSONField(default=dict, blank=True, help_text="Format metadata every member may see.")
    private_meta = models.JSONField(
        default=dict, blank=True, help_text="Patient-identifying metadata: shown to nobody, exported on opt-in only."
    )
    next_object_number = models.PositiveIntegerField(
        default=1, help_text="The number the next object created on this image gets (numbers are never reused)."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["project", "sha256"], name="unique_image_content_per_project")]
        indexes = [models.Index(fields=["project", "status"])]

    def __str__(self) -> str:
        return self.original_name

    @property
    def is_source(self) -> bool:
        """True when the stored file is shown through a display mapping (not an 8-bit photo shown as stored)."""
        return self.kind != "photo"
