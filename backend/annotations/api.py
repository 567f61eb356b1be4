"""Annotation objects (optimistic concurrency: stale versions get 409), revisions and comments."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.annotations import services
from backend.annotations.models import AnnotationObject, AnnotationRevision, Comment, ObjectSource
from backend.annotations.selectors import (
    get_image_of_object_ever,
    get_object_for,
    image_comments,
    image_objects,
    object_revisions,
    project_statistics,
)
from backend.collab.selectors import require_not_leased
from backend.common.errors import InvalidInput
from backend.common.limits import MAX_DB_INT
from backend.common.parsers import BoundedJSONParser
from backend.images.models import Image
from backend.images.selectors import edit_refusal, get_image_for
from backend.projects.access import get_project_for, require_manager
from backend.projects.models import Role


def require_edit(request: Request, image: Image, role: Role) -> None:
    refusal = edit_refusal(user=request.user, image=image, role=role)
    if refusal:
        raise PermissionDenied(refusal)


class LeasedOutput(serializers.Serializer):
    """423: another user holds the object's lease (they are editing it)."""

    error = serializers.CharField()
    code = serializers.CharField()
    detail = serializers.CharField()
    holder = serializers.DictField(help_text="The holder: {id, name, colour}.")


class ClickField(serializers.Serializer):
    x = serializers.FloatField()
    y = serializers.FloatField()
    positive = serializers.BooleanField()


class ObjectOutput(serializers.ModelSerializer):
    author_name = serializers.CharField(source="author.username", default=None, read_only=True)
    last_editor_name = serializers.CharField(source="last_editor.username", default=None, read_only=True)
    clicks = ClickField(many=True, read_only=True)

    class Meta:
        model = AnnotationObject
        fields = [
            "id", "image", "number", "slice", "label", "polygons", "mask_rle", "bbox", "area", "author", "author_name",
            "last_editor", "last_editor_name", "source", "clicks", "clicks_used", "seconds_spent", "version",
            "client_key", "created_at", "updated_at",
        ]  # fmt: skip


class ObjectCreateInput(serializers.Serializer):
    label = serializers.IntegerField()
    slice = serializers.IntegerField(
        min_value=0, max_value=MAX_DB_INT, default=0, help_text="The slice of a stack it lies on (from 0)."
    )
    polygons = serializers.JSONField()
    source = serializers.ChoiceField(choices=ObjectSource.choices, default=ObjectSource.MANUAL)
    clicks = serializers.JSONField(
        default=list, help_text="[{x, y, positive}, ...] (pixel indices): the clicks the shape was computed from."
    )
    clicks_used = serializers.IntegerField(min_value=0, max_value=MAX_DB_INT, default=0)
    seconds_spent = serializers.FloatField(min_value=0, default=0.0)
    client_key = serializers.CharField(
        max_length=64, required=False, help_text="A key the client chose; creating again with it returns the first."
    )


class ObjectUpdateInput(serializers.Serializer):
    version = serializers.IntegerField(help_text="The version this change is based on.")
    label = serializers.IntegerField(required=False)
    polygons = serializers.JSONField(required=False)
    clicks = serializers.JSONField(
        required=False, help_text="The clicks the new shape was computed from; left out: kept, []: cleared."
    )
    clicks_used = serializers.IntegerField(min_value=0, max_value=MAX_DB_INT, required=False)
    seconds_spent = serializers.FloatField(min_value=0, required=False)


class ObjectListApi(APIView):
    parser_classes = [BoundedJSONParser]

    @extend_schema(responses=ObjectOutput(many=True))
    def get(self, request: Request, image_id: int) -> Response:
        image, _ = get_image_for(request.user, image_id)
        return Response(ObjectOutput(image_objects(image=image), many=True).data)

    @extend_schema(request=ObjectCreateInput, responses={201: ObjectOutput})
    def post(self, request: Request, image_id: int) -> Response:
        image, role = get_image_for(request.user, image_id)
        require_edit(request, image, role)
        body = ObjectCreateInput(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        obj = services.object_create(
            image=image,
            author=request.user,
            label_id=data["label"],
            polygons=data["polygons"],
            source=data["source"],
            clicks=data["clicks"],
            clicks_used=data["clicks_used"],
            seconds_spent=data["seconds_spent"],
            client_key=data.get("client_key"),
            slice_index=data["slice"],
        )
        return Response(ObjectOutput(obj).data, status=201)


class ObjectDetailApi(APIView):
    parser_classes = [BoundedJSONParser]

    @extend_schema(responses=ObjectOutput)
    def get(self, request: Request, object_id: int) -> Response:
        obj, _ = get_object_for(request.user, object_id)
        return Response(ObjectOutput(obj).data)

    @extend_schema(request=ObjectUpdateInput, responses={200: ObjectOutput, 409: ObjectOutput, 423: LeasedOutput})
    def patch(self, request: Request, object_id: int) -> Response:
        obj, role = get_object_for(request.user, object_id)
        require_edit(request, obj.image, role)
        require_not_leased(object_id=obj.pk, user_id=request.user.pk)
        body = ObjectUpdateInput(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        obj = services.object_update(
            obj=obj,
            author=request.user,
            version=data["version"],
            label_id=data.get("label"),
            polygons=data.get("polygons"),
            clicks=data.get("clicks"),
            clicks_used=data.get("clicks_used"),
            seconds_spent=data.get("seconds_spent"),
        )
        return Response(ObjectOutput(obj).data)

    @extend_schema(
        parameters=[OpenApiParameter("version", int, required=True)], responses={204: None, 423: LeasedOutput}
    )
    def delete(self, request: Request, object_id: int) -> Response:
        obj, role = get_object_for(request.user, object_id)
        require_edit(request, obj.image, role)
        require_not_leased(object_id=obj.pk, user_id=request.user.pk)
        version = request.query_params.get("version", "")
        if not version.isdigit():
            raise InvalidInput("Pass ?version=<the version you are deleting>.", code="version_required")
        services.object_delete(obj=obj, author=request.user, version=int(version))
        return Response(status=status.HTTP_204_NO_CONTENT)


class ObjectRestoreInput(serializers.Serializer):
    version = serializers.IntegerField(help_text="The version the object had when it was deleted.")


class ObjectRestoreApi(APIView):
    parser_classes = [BoundedJSONParser]

    @extend_schema(request=ObjectRestoreInput, responses={201: ObjectOutput, 409: ObjectOutput, 423: LeasedOutput})
    def post(self, request: Request, object_id: int) -> Response:
        """Undo a delete: the object comes back with its id (and history), as it was when deleted."""
        image, role = get_image_of_object_ever(request.user, object_id)
        require_edit(request, image, role)
        require_not_leased(object_id=object_id, user_id=request.user.pk)
        body = ObjectRestoreInput(data=request.data)
        body.is_valid(raise_exception=True)
        obj = services.object_restore(object_id=object_id, author=request.user, version=body.validated_data["version"])
        return Response(ObjectOutput(obj).data, status=201)


class RevisionOutput(serializers.ModelSerializer):
    author_name = serializers.CharField(source="author.username", default=None, read_only=True)

    class Meta:
        model = AnnotationRevision
        fields = ["id", "object_id", "version", "action", "author", "author_name", "created_at", "snapshot"]


class ObjectRevisionsApi(APIView):
    @extend_schema(responses=RevisionOutput(many=True))
    def get(self, request: Request, object_id: int) -> Response:
        obj, _ = get_object_for(request.user, object_id)
        return Response(RevisionOutput(object_revisions(object_id=obj.pk), many=True).data)


class CommentOutput(serializers.ModelSerializer):
    author_name = serializers.CharField(source="author.username", default=None, read_only=True)
    object_number = serializers.IntegerField(source="object.number", default=None, read_only=True)

    class Meta:
        model = Comment
        fields = [
            "id",
            "image",
            "object",
            "object_number",
            "detached_from_object_id",
            "author",
            "author_name",
            "text",
            "x",
            "y",
            "created_at",
        ]


class CommentInput(serializers.Serializer):
    text = serializers.CharField()
    object = serializers.IntegerField(required=False, allow_null=True, default=None)
    x = serializers.FloatField(required=False, allow_null=True, default=None)
    y = serializers.FloatField(required=False, allow_null=True, default=None)


class CommentListApi(APIView):
    parser_classes = [BoundedJSONParser]

    @extend_schema(responses=CommentOutput(many=True))
    def get(self, request: Request, image_id: int) -> Response:
        image, _ = get_image_for(request.user, image_id)
        return Response(CommentOutput(image_comments(image=image), many=True).data)

    @extend_schema(request=CommentInput, responses={201: CommentOutput})
    def post(self, request: Request, image_id: int) -> Response:
        image, _ = get_image_for(request.user, image_id)  # everyone who sees the image may comment
        body = CommentInput(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        comment = services.comment_create(
            image=image, author=request.user, text=data["text"], object_id=data["object"], x=data["x"], y=data["y"]
        )
        return Response(CommentOutput(comment).data, status=201)


class ProjectStatisticsApi(APIView):
    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request: Request, project_id: int) -> Response:
        project, role = get_project_for(request.user, project_id)
        require_manager(role, "see the project's statistics")
        return Response(project_statistics(project=project))
