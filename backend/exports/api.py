"""Export a project's annotations as a zip archive (COCO or Pascal VOC). Managers and admins only."""

import re

from django.http import FileResponse
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.views import APIView

from backend.common.errors import InvalidInput
from backend.exports.archive import ExportFormat, build_archive
from backend.exports.contents import export_contents
from backend.images.selectors import filter_images, visible_images
from backend.projects.access import get_project_for, require_manager


def _format(value: str | None) -> ExportFormat:
    try:
        return ExportFormat(value or ExportFormat.COCO)
    except ValueError:
        choices = ", ".join(f.value for f in ExportFormat)
        raise InvalidInput(
            f"Unknown export format {str(value)[:40]!r}; use one of {choices}.", code="bad_format"
        ) from None


def _flag(value: str | None, default: bool) -> bool:
    if value is None or value == "":
        return default
    if value.lower() in {"1", "true", "yes"}:
        return True
    if value.lower() in {"0", "false", "no"}:
        return False
    raise InvalidInput(f"'images' is 1 or 0, not {value[:40]!r}.", code="bad_flag")


def _archive_name(project_name: str, fmt: ExportFormat) -> str:
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", project_name).strip("-.") or "project"
    return f"{slug[:80]}-{fmt.value}.zip"


class ProjectExportApi(APIView):
    @extend_schema(
        parameters=[
            # Not "format": DRF reads that one as a renderer override.
            OpenApiParameter("type", str, enum=[f.value for f in ExportFormat], description="default coco"),
            OpenApiParameter("images", bool, description="include the image files (default true)"),
            OpenApiParameter("status", str, description="comma-separated image statuses, as in the image list"),
            OpenApiParameter("batch", str, description="a batch id, or 'none'"),
            OpenApiParameter("search", str, description="part of the file name"),
        ],
        responses={(200, "application/zip"): bytes},
    )
    def get(self, request: Request, project_id: int) -> FileResponse:
        project, role = get_project_for(request.user, project_id)
        require_manager(role, "export the project")
        fmt = _format(request.query_params.get("type"))
        include_images = _flag(request.query_params.get("images"), default=True)
        images = filter_images(
            visible_images(user=request.user, project=project, role=role),
            status=request.query_params.get("status"),
            batch=request.query_params.get("batch"),
            search=request.query_params.get("search"),
        )
        archive = build_archive(export_contents(project=project, images=images), fmt=fmt, include_images=include_images)
        return FileResponse(
            archive, as_attachment=True, filename=_archive_name(project.name, fmt), content_type="application/zip"
        )
