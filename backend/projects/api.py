"""Projects, members and label classes."""

from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.common.errors import InvalidInput
from backend.common.limits import MAX_DB_INT
from backend.projects import services
from backend.projects.access import get_project_for, require_manager, require_role, visible_projects
from backend.projects.models import LabelClass, Membership, Project, Role
from backend.projects.selectors import get_label, project_labels, project_members


class ProjectOutput(serializers.ModelSerializer):
    role = serializers.SerializerMethodField()

    class Meta:
        model = Project
        fields = ["id", "name", "description", "default_model", "created_at", "role"]

    def get_role(self, project: Project) -> str | None:
        roles = self.context.get("roles", {})
        return roles.get(project.pk)


class ProjectInput(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True, default="")


class ProjectUpdateInput(serializers.Serializer):
    name = serializers.CharField(max_length=200, required=False)
    description = serializers.CharField(required=False, allow_blank=True)


def _roles_of(user, projects) -> dict[int, str]:
    if user.is_superuser:
        return {p.pk: Role.ADMIN.value for p in projects}
    return dict(Membership.objects.filter(user=user, project__in=projects).values_list("project_id", "role"))


class ProjectListApi(APIView):
    @extend_schema(responses=ProjectOutput(many=True))
    def get(self, request: Request) -> Response:
        projects = list(visible_projects(request.user).order_by("id"))
        data = ProjectOutput(projects, many=True, context={"roles": _roles_of(request.user, projects)}).data
        return Response(data)

    @extend_schema(request=ProjectInput, responses={201: ProjectOutput})
    def post(self, request: Request) -> Response:
        body = ProjectInput(data=request.data)
        body.is_valid(raise_exception=True)
        project = services.project_create(created_by=request.user, **body.validated_data)
        return Response(ProjectOutput(project, context={"roles": {project.pk: "admin"}}).data, status=201)


class ProjectDetailApi(APIView):
    @extend_schema(responses=ProjectOutput)
    def get(self, request: Request, project_id: int) -> Response:
        project, role = get_project_for(request.user, project_id)
        return Response(ProjectOutput(project, context={"roles": {project.pk: role.value}}).data)

    @extend_schema(request=ProjectUpdateInput, responses=ProjectOutput)
    def patch(self, request: Request, project_id: int) -> Response:
        project, role = get_project_for(request.user, project_id)
        require_manager(role, "change the project")
        body = ProjectUpdateInput(data=request.data)
        body.is_valid(raise_exception=True)
        project = services.project_update(project=project, **body.validated_data)
        return Response(ProjectOutput(project, context={"roles": {project.pk: role.value}}).data)

    @extend_schema(responses={204: None})
    def delete(self, request: Request, project_id: int) -> Response:
        project, role = get_project_for(request.user, project_id)
        require_role(role, {Role.ADMIN}, "delete the project")
        services.project_delete(project=project)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MemberOutput(serializers.ModelSerializer):
    username = serializers.CharField(source="user.username")
    user_id = serializers.IntegerField(source="user.id")

    class Meta:
        model = Membership
        fields = ["id", "user_id", "username", "role", "created_at"]


class MemberInput(serializers.Serializer):
    username = serializers.CharField()
    role = serializers.CharField()


class MemberRoleInput(serializers.Serializer):
    role = serializers.CharField()


def _membership(project: Project, member_id: int) -> Membership:
    membership = Membership.objects.filter(project=project, pk=member_id).select_related("user", "project").first()
    if membership is None:
        raise Http404("No such member.")
    return membership


class MemberListApi(APIView):
    @extend_schema(responses=MemberOutput(many=True))
    def get(self, request: Request, project_id: int) -> Response:
        project, _ = get_project_for(request.user, project_id)
        return Response(MemberOutput(project_members(project=project), many=True).data)

    @extend_schema(request=MemberInput, responses={201: MemberOutput})
    def post(self, request: Request, project_id: int) -> Response:
        project, role = get_project_for(request.user, project_id)
        require_manager(role, "manage members")
        body = MemberInput(data=request.data)
        body.is_valid(raise_exception=True)
        if body.validated_data["role"] == Role.ADMIN:
            require_role(role, {Role.ADMIN}, "make admins")
        membership = services.member_add(project=project, **body.validated_data)
        return Response(MemberOutput(membership).data, status=201)


class MemberDetailApi(APIView):
    @extend_schema(request=MemberRoleInput, responses=MemberOutput)
    def patch(self, request: Request, project_id: int, member_id: int) -> Response:
        project, role = get_project_for(request.user, project_id)
        require_manager(role, "manage members")
        membership = _membership(project, member_id)
        body = MemberRoleInput(data=request.data)
        body.is_valid(raise_exception=True)
        if Role.ADMIN in (body.validated_data["role"], membership.role):
            require_role(role, {Role.ADMIN}, "change admins")
        membership = services.member_set_role(membership=membership, role=body.validated_data["role"])
        return Response(MemberOutput(membership).data)

    @extend_schema(responses={204: None})
    def delete(self, request: Request, project_id: int, member_id: int) -> Response:
        project, role = get_project_for(request.user, project_id)
        require_manager(role, "manage members")
        membership = _membership(project, member_id)
        if membership.role == Role.ADMIN:
            require_role(role, {Role.ADMIN}, "remove admins")
        services.member_remove(membership=membership)
        return Response(status=status.HTTP_204_NO_CONTENT)


class LabelOutput(serializers.ModelSerializer):
    class Meta:
        model = LabelClass
        fields = ["id", "name", "color", "order"]


class LabelInput(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    color = serializers.CharField(
        required=False,
        allow_null=True,
        allow_blank=True,
        default=None,
        help_text="#RRGGBB; left out, the first colour of the label palette the project does not use yet.",
    )
    order = serializers.IntegerField(required=False, min_value=0, max_value=MAX_DB_INT, allow_null=True, default=None)


class LabelUpdateInput(serializers.Serializer):
    name = serializers.CharField(max_length=100, required=False)
    color = serializers.CharField(required=False)
    order = serializers.IntegerField(required=False, min_value=0, max_value=MAX_DB_INT)


def _label(project: Project, label_id: int) -> LabelClass:
    label = get_label(project=project, label_id=label_id)
    if label is None:
        raise Http404("No such label.")
    return label


class LabelListApi(APIView):
    @extend_schema(responses=LabelOutput(many=True))
    def get(self, request: Request, project_id: int) -> Response:
        project, _ = get_project_for(request.user, project_id)
        return Response(LabelOutput(project_labels(project=project), many=True).data)

    @extend_schema(request=LabelInput, responses={201: LabelOutput})
    def post(self, request: Request, project_id: int) -> Response:
        project, role = get_project_for(request.user, project_id)
        require_manager(role, "manage labels")
        body = LabelInput(data=request.data)
        body.is_valid(raise_exception=True)
        label = services.label_create(project=project, **body.validated_data)
        return Response(LabelOutput(label).data, status=201)


class LabelDetailApi(APIView):
    @extend_schema(request=LabelUpdateInput, responses=LabelOutput)
    def patch(self, request: Request, project_id: int, label_id: int) -> Response:
        project, role = get_project_for(request.user, project_id)
        require_manager(role, "manage labels")
        body = LabelUpdateInput(data=request.data)
        body.is_valid(raise_exception=True)
        label = services.label_update(label=_label(project, label_id), **body.validated_data)
        return Response(LabelOutput(label).data)

    @extend_schema(
        parameters=[OpenApiParameter("reassign_to", int, description="Move the label's objects to this label.")],
        responses={200: inline_serializer("LabelDeleted", {"moved_objects": serializers.IntegerField()})},
    )
    def delete(self, request: Request, project_id: int, label_id: int) -> Response:
        project, role = get_project_for(request.user, project_id)
        require_manager(role, "manage labels")
        label = _label(project, label_id)
        target_id = request.query_params.get("reassign_to")
        target = None
        if target_id is not None:
            if not target_id.isdigit():
                raise InvalidInput("reassign_to must be a label id.", code="unknown_label")
            target = get_label(project=project, label_id=int(target_id))
            if target is None:
                raise InvalidInput(f"Label {target_id} does not exist in this project.", code="unknown_label")
        moved = services.label_delete(label=label, reassign_to=target)
        return Response({"moved_objects": moved})
