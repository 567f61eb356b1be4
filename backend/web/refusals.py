"""A page's refusal that knows its project, so that the styled 403 page links back to it."""

from django.core.exceptions import PermissionDenied

from backend.projects.models import Project


class PageRefused(PermissionDenied):
    """403 with the reason shown to the person, and the project they came from (only ever one they can see)."""

    def __init__(self, reason: str, *, project: Project | None = None) -> None:
        super().__init__(reason)
        self.project = project
