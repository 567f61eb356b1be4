"""The states of a background job, shared by fine-tuning jobs (``backend.training``) and export jobs
(``backend.exports``): one set of values and labels, so the API has one ``JobStatusEnum`` for both
(named in ``SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"]``, as several models have a field named ``status``)."""

from django.db import models


class JobStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


ACTIVE_STATUSES = (JobStatus.QUEUED, JobStatus.RUNNING)
FINISHED_STATUSES = (JobStatus.SUCCEEDED, JobStatus.FAILED)
