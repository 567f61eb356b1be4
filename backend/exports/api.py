"""Export a project's annotations as a zip archive (COCO or Pascal VOC), or import a COCO document.
Managers and admins only."""

import re
import tempfile
from dataclasses import asdict
from pathlib import Path

from django.http import FileResponse
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.common.errors import InvalidInput
from backend.exports.archive import write_archive
from backend.exports.contents import export_contents
from backend.exports.formats import FORMATS, Format
from backend.exports.services import check_import_size, coco_import
from backend.images.selectors import filter_images, visible_images
from backend.projects.access import get_project_for, require_manager


def _format(value: str | None) -> Format:
    try:
        return FORMATS[value or "coco"]
    except KeyError:
        choices = ", ".join(FORMATS)
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
    raise InvalidInput(f"A flag is 1 or 0, not {value[:40]!r}.", code="bad_flag")


def _archive_name(project_name: str, fmt: Format) -> str:
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", project_name).strip("-.") or "project"
    return f"{slug[:80]}-{fmt.name}.zip"


class ProjectExportApi(APIView):
    @extend_schema(
        parameters=[
            # Not "format": DRF reads that one as a renderer override.
            OpenApiParameter("type", str, enum=list(FORMATS), description="default coco"),
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
        spool = Path(tempfile.mkdtemp()) / "export.zip"
        write_archive(
            export_contents(project=project, images=images), fmt, include_images=include_images, destination=spool
        )
        archive = spool.open("rb")
        spool.unlink()
        spool.parent.rmdir()
        return FileResponse(
            archive, as_attachment=True, filename=_archive_name(project.name, fmt), content_type="application/zip"
        )


class ImportInput(serializers.Serializer):
    file = serializers.FileField(help_text="COCO instances JSON; images are matched by file name")
    create_labels = serializers.BooleanField(default=True, help_text="add categories the project lacks as labels")


class ProjectImportApi(APIView):
    parser_classes = [MultiPartParser]

    @extend_schema(
        request={"multipart/form-data": ImportInput},
        responses=inline_serializer(
            "ImportReport",
            {
                "created": serializers.IntegerField(),
                "already_imported": serializers.IntegerField(),
                "crowd_skipped": serializers.IntegerField(),
                "labels_created": serializers.ListField(child=serializers.CharField()),
                "unmatched_images": serializers.ListField(child=serializers.CharField()),
            },
        ),
    )
    def post(self, request: Request, project_id: int) -> Response:
        project, role = get_project_for(request.user, project_id)
        require_manager(role, "import annotations")
        body = ImportInput(data=request.data)
        body.is_valid(raise_exception=True)
        document = body.validated_data["file"]
        check_import_size(document.size)
        report = coco_import(
            project=project,
            data=document.read(),
            author=request.user,
            create_labels=body.validated_data["create_labels"],
        )
        return Response(asdict(report))
