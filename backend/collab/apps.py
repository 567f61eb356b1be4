from django.apps import AppConfig


class CollabConfig(AppConfig):
    name = "backend.collab"
    label = "collab"
    verbose_name = "Real-time teamwork (presence, leases, live updates)"
