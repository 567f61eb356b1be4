from django.conf import settings
from django.db import models


class Preferences(models.Model):
    """Per-person settings of the workspace (shortcut bindings, overlay opacity, …) as a JSON document."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="preferences")
    data = models.JSONField(default=dict)
    updated_at = models.DateTimeField(auto_now=True)
