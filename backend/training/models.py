from django.conf import settings
from django.db import models

from backend.common.job_status import JobStatus
from backend.projects.models import Project


class FineTuneJob(models.Model):
    """One "fine-tune on this project" run: trains `base_model` on the project's accepted objects.

    `noc_before`/`noc_after` hold the held-out validation ({noc85, noc90, miou, count, max_clicks}) of the
    base model and of the fine-tuned one; `result_model` is the registered name of the new version.
    """

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="finetune_jobs")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    base_model = models.CharField(max_length=100)
    status = models.CharField(max_length=20, choices=JobStatus.choices, default=JobStatus.QUEUED)
    progress = models.FloatField(default=0.0, help_text="0..1")
    stage = models.CharField(max_length=100, blank=True, default="")
    train_objects = models.PositiveIntegerField(default=0)
    heldout_objects = models.PositiveIntegerField(default=0)
    iterations = models.PositiveIntegerField(default=0)
    noc_before = models.JSONField(null=True, blank=True)
    noc_after = models.JSONField(null=True, blank=True)
    result_model = models.CharField(max_length=100, blank=True, default="")
    error = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
