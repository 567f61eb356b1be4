"""DRF exception handler that renders service errors as `{"error": code, "detail": message, ...}`."""

from typing import Any

from django.core.exceptions import RequestDataTooBig
from rest_framework.response import Response
from rest_framework.views import exception_handler

from backend.common.errors import ServiceError
from backend.common.parsers import body_too_large, content_length


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, RequestDataTooBig):  # request.body (DRF reads JSON and forms through it) refused the size
        exc = body_too_large(content_length(context.get("request")))
    if isinstance(exc, ServiceError):
        body: dict[str, Any] = {"error": exc.code, "detail": exc.message}
        if exc.details is not None:
            body["details"] = exc.details
        body.update(exc.fields)
        response = Response(body, status=exc.status_code)
        if getattr(exc, "retry_after", None):
            response["Retry-After"] = str(exc.retry_after)
        return response
    return exception_handler(exc, context)
