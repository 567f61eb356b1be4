"""Styled 403/404/500 pages (``handler403/404/500`` in config/urls.py): the reason, and a way back to the project
when the refusal names one, else to the project list. Under /api/ the answer stays JSON, as the API's own errors."""

import logging

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse

logger = logging.getLogger(__name__)

_DEFAULT_REASONS = {
    403: "You may not open this page.",
    404: "There is no such page, or it is not shared with you.",
    500: "Something went wrong on the server. The error was logged; try again in a moment.",
}
_CODES = {403: "forbidden", 404: "not_found", 500: "server_error"}
_TITLES = {403: "Not allowed", 404: "Not found", 500: "Server error"}


def _reason(exception: Exception | None, status: int) -> str:
    """The exception's message when it is a sentence meant for people (Django's resolver passes a dict)."""
    message = exception.args[0] if exception is not None and exception.args else None
    return message if isinstance(message, str) and message.strip() else _DEFAULT_REASONS[status]


def _error_page(request: HttpRequest, status: int, exception: Exception | None) -> HttpResponse:
    reason = _reason(exception, status)
    if request.path.startswith("/api/"):
        return JsonResponse({"error": _CODES[status], "detail": reason}, status=status)
    project = getattr(exception, "project", None)
    context = {
        "status": status,
        "title": _TITLES[status],
        "reason": reason,
        "back_url": reverse("project-page", args=[project.pk]) if project else reverse("home"),
        "back_text": f"Back to {project.name}" if project else "Back to your projects",
    }
    return render(request, f"{status}.html", context, status=status)


def forbidden(request: HttpRequest, exception: Exception) -> HttpResponse:
    return _error_page(request, 403, exception)


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    return _error_page(request, 404, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    """Never the exception's text (it may carry internals); a bare page if even the styled one fails (its
    template asks the database for the user, which may be what failed)."""
    try:
        return _error_page(request, 500, None)
    except Exception:
        logger.exception("The styled 500 page failed")
        return HttpResponse(
            "<!doctype html><title>Server error</title><h1>Server error</h1><p>Try again in a moment.</p>", status=500
        )


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """``CSRF_FAILURE_VIEW``: a form sent without a valid security token (an old tab, cookies cleared)."""
    message = "The page's security token is missing or expired (an old tab, or cookies were cleared); reload the page."
    return _error_page(request, 403, PermissionError(message))
