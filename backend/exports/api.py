"""Exports as background jobs (start, list, follow, download, delete) and importing annotations (COCO, LabelMe,
YOLO-seg). Managers and admins only. Scripts export with ``manage.py export_project`` or through these jobs."""

import re
from dataclasses import asdict
from datetime import timedelta

from django.conf import settings
from django.http import FileResponse, Http404
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.views import APIView

from backend.common.errors import Conflict
from backend.common.job_status import JobStatus
from backend.exports import job_services
from backend.exports.formats import FORMATS
from backend.exports.importing import check_import_size, import_annotations
from backend.exports.job_selectors import get_export_for, project_exports
from backend.exports.models import ExportJob
from backend.exports.readers import READERS
from backend.projects.access import get_project_for, require_manager

LISTED_JOBS = 50


def archive_name(project_name: str, fmt: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", project_name).strip("-.") or "project"
    return f"{slug[:80]}-{fmt}.zip"


class ExportOutput(serializers.ModelSerializer):
    requested_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    download = serializers.SerializerMethodField(help_text="the archive's URL once the export succeeded")
    expires_at = serializers.SerializerMethodField(help_text="when the archive is deleted")

    class Meta:
        model = ExportJob
        fields = [
            "id",
            "project",
            "format",
            "filters",
            "include_images",
            "requested_by",
            "status",
            "progress",
            "images",
            "error",
            "size",
            "created_at",
            "started_at",
            "finished_at",
            "expires_at",
            "download",
        ]

    def get_download(self, job: ExportJob) -> str | None:
        if job.status != JobStatus.SUCCEEDED:
            return None
        return reverse("export-download", args=[job.pk], request=self.context.get("request"))

    def get_expires_at(self, job: ExportJob) -> str | None:
        if job.finished_at is None:
            return None
        return (job.finished_at + timedelta(hours=settings.EXPORT_RETENTION_HOURS)).isoformat()


class ExportInput(serializers.Serializer):
    format = serializers.CharField(default="coco", help_text=f"one of {', '.join(FORMATS)}")
    status = serializers.CharField(required=False, allow_blank=True, help_text="comma-separated image statuses")
    batch = serializers.CharField(required=False, allow_blank=True, help_text="a batch id, or 'none'")
    search = serializers.CharField(required=False, allow_blank=True, help_text="part of the file name")
    images = serializers.BooleanField(default=True, help_text="include the image files")
    patient_data = serializers.BooleanField(
        default=False,
        help_text="include DICOM patient-identifying attributes (patient_data.json, stored DICOM files as they are); "
        "left out unless a manager opts in",
    )


class ProjectExportsApi(APIView):
    @extend_schema(responses=ExportOutput(many=True))
    def get(self, request: Request, project_id: int) -> Response:
        project, role = get_project_for(request.user, project_id)
        require_manager(role, "see the project's exports")
        job_services.exports_sweep()
        jobs = project_exports(project=project)[:LISTED_JOBS]
        return Response(ExportOutput(jobs, many=True, context={"request": request}).data)

    @extend_schema(request=ExportInput, responses={202: ExportOutput})
    def post(self, request: Request, project_id: int) -> Response:
        project, role = get_project_for(request.user, project_id)
        require_manager(role, "export the project")
        body = ExportInput(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        job = job_services.export_start(
            project=project,
            user=request.user,
            fmt=data["format"],
            filters=data,
            include_images=data["images"],
            include_patient_data=data["patient_data"],
        )
        output = ExportOutput(job, context={"request": request}).data
        headers = {"Location": reverse("export-detail", args=[job.pk], request=request)}
        return Response(output, status=status.HTTP_202_ACCEPTED, headers=headers)


class ExportDetailApi(APIView):
    @extend_schema(responses=ExportOutput)
    def get(self, request: Request, job_id: int) -> Response:
        job, role = get_export_for(request.user, job_id)
        require_manager(role, "see the project's exports")
        return Response(ExportOutput(job, context={"request": request}).data)

    @extend_schema(responses={204: None})
    def delete(self, request: Request, job_id: int) -> Response:
        job, role = get_export_for(request.user, job_id)
        require_manager(role, "delete the project's exports")
        job_services.export_delete(job=job)
        return Response(status=status.HTTP_204_NO_CONTENT)


def _archive_response(job: ExportJob) -> FileResponse:
    if job.status != JobStatus.SUCCEEDED:
        raise Conflict(f"The export is {job.status}, not ready to download.", code="export_not_ready")
    try:
        archive = job.path.open("rb")
    except FileNotFoundError:
        raise Http404("The export's archive is gone.") from None
    name = archive_name(job.project.name, job.format)
    return FileResponse(archive, as_attachment=True, filename=name, content_type="application/zip")


class ExportDownloadApi(APIView):
    @extend_schema(responses={(200, "application/zip"): bytes})
    def get(self, request: Request, job_id: int) -> FileResponse:
        job, role = get_export_for(request.user, job_id)
        require_manager(role, "download the project's exports")
        return _archive_response(job)


class ImportInput(serializers.Serializer):
    file = serializers.FileField(
        help_text="COCO instances JSON; LabelMe JSON or a zip of them; a YOLO-seg zip (labels/, data.yaml). "
        "Images are matched by file name"
    )
    type = serializers.ChoiceField(choices=sorted(READERS), default="coco", help_text="the file's format")
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
                "skipped": serializers.ListField(child=serializers.DictField(child=serializers.CharField())),
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
        report = import_annotations(
            project=project,
            author=request.user,
            annotations=READERS[body.validated_data["type"]](document.read(), project=project),
            create_labels=body.validated_data["create_labels"],
        )
        return Response(asdict(report))
