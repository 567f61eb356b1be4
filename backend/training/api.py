"""Fine-tuning jobs and the project's active model."""

from django.conf import settings
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.projects.access import get_project_for, require_manager
from backend.training import services
from backend.training.models import FineTuneJob
from backend.training.selectors import active_model, get_job_for, project_jobs, project_models


class JobOutput(serializers.ModelSerializer):
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = FineTuneJob
        fields = [
            "id",
            "project",
            "created_by",
            "base_model",
            "status",
            "progress",
            "stage",
            "train_objects",
            "heldout_objects",
            "iterations",
            "noc_before",
            "noc_after",
            "result_model",
            "error",
            "created_at",
            "started_at",
            "finished_at",
        ]


class ModelInput(serializers.Serializer):
    model = serializers.CharField(max_length=100, allow_blank=True, help_text='"" selects the server default')


ModelOutput = inline_serializer(
    "ProjectModel",
    {
        "active": serializers.CharField(),
        "selected": serializers.CharField(),
        "server_default": serializers.CharField(),
        "available": serializers.ListField(child=serializers.CharField()),
    },
)


def _model_state(project) -> dict:
    return {
        "active": active_model(project),
        "selected": project.default_model,
        "server_default": settings.DEFAULT_MODEL_NAME,
        "available": project_models(project),
    }


class FineTuneListApi(APIView):
    @extend_schema(responses=JobOutput(many=True))
    def get(self, request: Request, project_id: int) -> Response:
        project, _ = get_project_for(request.user, project_id)
        return Response(JobOutput(project_jobs(project=project)[:20], many=True).data)

    @extend_schema(request=None, responses={202: JobOutput})
    def post(self, request: Request, project_id: int) -> Response:
        project, role = get_project_for(request.user, project_id)
        require_manager(role, "fine-tune the project's model")
        job = services.finetune_start(project=project, user=request.user)
        return Response(JobOutput(job).data, status=status.HTTP_202_ACCEPTED)


class FineTuneDetailApi(APIView):
    @extend_schema(responses=JobOutput)
    def get(self, request: Request, job_id: int) -> Response:
        job, _ = get_job_for(request.user, job_id)
        return Response(JobOutput(job).data)


class ProjectModelApi(APIView):
    @extend_schema(responses=ModelOutput)
    def get(self, request: Request, project_id: int) -> Response:
        project, _ = get_project_for(request.user, project_id)
        return Response(_model_state(project))

    @extend_schema(request=ModelInput, responses=ModelOutput)
    def patch(self, request: Request, project_id: int) -> Response:
        project, role = get_project_for(request.user, project_id)
        require_manager(role, "change the project's model")
        body = ModelInput(data=request.data)
        body.is_valid(raise_exception=True)
        project = services.project_set_model(project=project, model=body.validated_data["model"])
        return Response(_model_state(project))
