"""The Celery app of the team deployment (used when REDIS_URL is set)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.config.settings")

app = Celery("edgeflow")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()  # each app's tasks.py (fine-tuning)
app.autodiscover_tasks(["backend.interactive"], related_name="jobs")  # click jobs, beside their contract
