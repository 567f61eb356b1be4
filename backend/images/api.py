"""Images (upload, list, files, review decisions) and batches (create, assign, submit, review decisions)."""

from django.db.models import QuerySet
from django.http import FileResponse, Http404
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import PermissionDenied
from rest_framework.pagination import PageNumberPagination
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.common.errors import InvalidInput
from backend.common.limits import MAX_DB_INT
from backend.common.parsers import BoundedJSONParser
from backend.images import services, tiles
from backend.images.content_types import content_type_of
from backend.images.display import display_digest
from backend.images.models import Batch, Image
from backend.images.renderings import rendering_of
from backend.images.selectors import (
    can_review_batch,
    edit_refusal,
    filter_images,
    get_batch_for,
    get_image_for,
    visible_batches,
    visible_images,
    with_image_counts,
)
from backend.projects.access import MANAGING_ROLES, get_project_for, require_manager
from backend.projects.models import Role

TilesOutput = inline_serializer(
    "ImageTiles",
    {
        "tile_size": serializers.IntegerField(help_text="Tiles are this many pixels square (the last ones smaller)."),
        "levels": serializers.IntegerField(
            help_text="Level levels-1 is the full resolution, each level below halves the sides (rounding up), "
            "level 0 is 1×1."
        ),
        "url": serializers.CharField(help_text="Template of a tile's URL: {level}, {col} and {row} filled in."),
    },
    allow_null=True,
)


class ImageOutput(serializers.ModelSerializer):
    file_url = serializers.SerializerMethodField()
    thumbnail_url = serializers.SerializerMethodField()
    tiles = serializers.SerializerMethodField(
        help_text="For an image above TILED_MIN_PIXELS: its tile pyramid, which the workspace shows instead of the "
        "file (null for any other image)."
    )

    class Meta:
        model = Image
        fields = [
            "id", "project", "batch", "original_name", "width", "height", "format", "size_bytes", "sha256",
            "status", "created_at", "file_url", "thumbnail_url", "kind", "slice_count", "band_count", "sample_type",
            "display", "presets", "meta", "tiles",
        ]  # fmt: skip

    def get_file_url(self, image: Image) -> str:
        """Slice 0 as shown; a source's URL names its display mapping (a new mapping is a new URL, never a stale
        cached picture). Other slices: ``?slice=i``."""
        return image_file_url(image)

    def get_thumbnail_url(self, image: Image) -> str:
        return f"/api/images/{image.pk}/thumbnail"

    @extend_schema_field(TilesOutput)
    def get_tiles(self, image: Image) -> dict | None:
        return tiles.tiles_info(image)


UploadOutput = inline_serializer(
    "UploadReport",
    {
        "created": ImageOutput(many=True),
        "duplicates": serializers.ListField(child=serializers.DictField()),
    },
)


class ImagePagination(PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 1000


class ImageListApi(APIView):
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        parameters=[
            OpenApiParameter("status", str, description="Comma-separated statuses."),
            OpenApiParameter("batch", str, description="A batch id, or 'none' for unbatched images."),
            OpenApiParameter("search", str, description="Part of the file name."),
            OpenApiParameter("page", int),
            OpenApiParameter("page_size", int),
        ],
        responses=ImageOutput(many=True),
    )
    def get(self, request: Request, project_id: int) -> Response:
        project, role = get_project_for(request.user, project_id)
        images = filter_images(
            visible_images(user=request.user, project=project, role=role),
            status=request.query_params.get("status"),
            batch=request.query_params.get("batch"),
            search=request.query_params.get("search"),
        ).order_by("id")
        paginator = ImagePagination()
        page = paginator.paginate_queryset(images, request, view=self)
        return paginator.get_paginated_response(ImageOutput(page, many=True).data)

    @extend_schema(
        request={
            "multipart/form-data": inline_serializer(
                "ImageUpload", {"files": serializers.ListField(child=serializers.FileField())}
            )
        },
        responses={201: UploadOutput, 200: UploadOutput},
    )
    def post(self, request: Request, project_id: int) -> Response:
        project, role = get_project_for(request.user, project_id)
        require_manager(role, "upload images")
        report = services.images_upload(project=project, files=request.FILES.getlist("files"), uploaded_by=request.user)
        body = {"created": ImageOutput(report.created, many=True).data, "duplicates": report.duplicates}
        return Response(body, status=201 if report.created else 200)


class ImageDetailApi(APIView):
    @extend_schema(responses=ImageOutput)
    def get(self, request: Request, image_id: int) -> Response:
        image, _ = get_image_for(request.user, image_id)
        return Response(ImageOutput(image).data)

    @extend_schema(responses={204: None})
    def delete(self, request: Request, image_id: int) -> Response:
        image, role = get_image_for(request.user, image_id)
        require_manager(role, "delete images")
        services.image_delete(image=image)
        return Response(status=status.HTTP_204_NO_CONTENT)


def image_file_url(image: Image) -> str:
    url = f"/api/images/{image.pk}/file"
    return f"{url}?v={display_digest(image.display)}" if image.is_source else url


def _slice_param(request: Request) -> int:
    given = request.query_params.get("slice", "0")
    if not given.isascii() or not given.isdigit() or len(given) > 9:
        raise InvalidInput(f"'slice' is a slice number from 0, not {given[:20]!r}.", code="bad_slice")
    return int(given)


class ImageFileApi(APIView):
    @extend_schema(
        parameters=[OpenApiParameter("slice", int, description="The slice of a stack (from 0).")],
        responses={(200, "image/*"): bytes},
    )
    def get(self, request: Request, image_id: int) -> FileResponse:
        """The image as the annotator sees it: a photo is its uploaded file, typed by the format it decoded as
        (never by the name it came with); a source (16-bit, DICOM, NIfTI, GeoTIFF) is the PNG rendering of
        ``slice`` through its display mapping (the stored file, with any patient data, is never served)."""
        image, _ = get_image_for(request.user, image_id)
        if image.is_source:
            rendering = rendering_of(image, _slice_param(request))
            response = FileResponse(rendering.path.open("rb"), content_type=rendering.content_type)
        else:
            content_type = content_type_of(image.format)
            response = FileResponse(
                image.file.open("rb"),
                content_type=content_type or "application/octet-stream",
                as_attachment=content_type is None,
                filename=image.original_name,
            )
        response["Cache-Control"] = "private, max-age=86400"
        response["X-Content-Type-Options"] = "nosniff"
        return response


class ImageTileApi(APIView):
    @extend_schema(responses={(200, tiles.TILE_CONTENT_TYPE): bytes})
    def get(self, request: Request, image_id: int, level: int, col: int, row: int) -> FileResponse:
        """One tile of a tiled image's pyramid (see the image's ``tiles``); 404 for any other tile or image."""
        image, _ = get_image_for(request.user, image_id)
        found = tiles.tile_path(image, level, col, row)
        if found is None:
            raise Http404("No such tile.")
        response = FileResponse(found[0].open("rb"), content_type=tiles.TILE_CONTENT_TYPE)
        response["Cache-Control"] = "private, max-age=86400"
        response["X-Content-Type-Options"] = "nosniff"
        return response


class ImageDisplayApi(APIView):
    parser_classes = [BoundedJSONParser]

    @extend_schema(
        request=inline_serializer("DisplayMapping", {"display": serializers.DictField()}),
        responses=ImageOutput,
    )
    def put(self, request: Request, image_id: int) -> Response:
        """Show the image through another display mapping (window/level, percentile stretch, bands): those who
        may edit the image change it for everyone on it (they are told, `display_changed`)."""
        image, role = get_image_for(request.user, image_id)
        refusal = edit_refusal(user=request.user, image=image, role=role)
        if refusal:
            raise PermissionDenied(refusal)
        display = request.data.get("display") if isinstance(request.data, dict) else None
        image = services.image_set_display(image=image, display=display, by=request.user)
        return Response(ImageOutput(image).data)


class ImageThumbnailApi(APIView):
    @extend_schema(responses={(200, "image/jpeg"): bytes})
    def get(self, request: Request, image_id: int) -> FileResponse:
        image, _ = get_image_for(request.user, image_id)
        response = FileResponse(image.thumbnail.open("rb"), content_type="image/jpeg")
        response["Cache-Control"] = "private, max-age=86400"
        return response


class DecisionInput(serializers.Serializer):
    decision = serializers.ChoiceField(choices=["accept", "reject"])


class BatchDecisionInput(serializers.Serializer):
    decision = serializers.ChoiceField(
        choices=["accept", "reject", "finish"],
        help_text="accept/reject: the images still undecided; finish: close the review once every image is decided.",
    )


class ImageReviewApi(APIView):
    @extend_schema(request=DecisionInput, responses=ImageOutput)
    def post(self, request: Request, image_id: int) -> Response:
        image, role = get_image_for(request.user, image_id)
        if image.batch is None or not can_review_batch(user=request.user, batch=image.batch, role=role):
            raise PermissionDenied("Only the batch's reviewer or a manager may review this image.")
        body = DecisionInput(data=request.data)
        body.is_valid(raise_exception=True)
        image = services.image_review(image=image, accept=body.validated_data["decision"] == "accept", by=request.user)
        return Response(ImageOutput(image).data)


class BatchOutput(serializers.ModelSerializer):
    """A batch with its image counts; serialise batches read through :func:`with_image_counts`."""

    image_count = serializers.IntegerField(read_only=True)
    empty_images = serializers.IntegerField(read_only=True, help_text="Images without any object.")
    accepted_images = serializers.IntegerField(read_only=True)
    rejected_images = serializers.IntegerField(read_only=True)
    undecided_images = serializers.SerializerMethodField(help_text="Images neither accepted nor rejected.")
    assignee_name = serializers.CharField(source="assignee.username", default=None, read_only=True)
    reviewer_name = serializers.CharField(source="reviewer.username", default=None, read_only=True)

    class Meta:
        model = Batch
        fields = [
            "id", "project", "name", "assignee", "assignee_name", "reviewer", "reviewer_name", "status",
            "created_at", "image_count", "empty_images", "accepted_images", "rejected_images", "undecided_images",
        ]  # fmt: skip

    def get_undecided_images(self, batch: Batch) -> int:
        return batch.image_count - batch.accepted_images - batch.rejected_images


def batches_output(batches: QuerySet[Batch]) -> list[dict]:
    return BatchOutput(with_image_counts(batches.select_related("assignee", "reviewer")), many=True).data


def batch_output(batch: Batch) -> dict:
    """``batch`` as the API shows it, its counts read now (after the change a service just made)."""
    [data] = batches_output(Batch.objects.filter(pk=batch.pk))
    return data


class BatchCreateInput(serializers.Serializer):
    image_ids = serializers.ListField(child=serializers.IntegerField(), required=False, default=None, allow_null=True)
    size = serializers.IntegerField(required=False, default=None, allow_null=True, max_value=MAX_DB_INT)
    name = serializers.CharField(required=False, allow_blank=True, default="")
    assignee_id = serializers.IntegerField(required=False, allow_null=True, default=None)
    reviewer_id = serializers.IntegerField(required=False, allow_null=True, default=None)


class BatchUpdateInput(serializers.Serializer):
    name = serializers.CharField(required=False)
    assignee_id = serializers.IntegerField(required=False, allow_null=True)
    reviewer_id = serializers.IntegerField(required=False, allow_null=True)


class BatchListApi(APIView):
    parser_classes = [BoundedJSONParser]

    @extend_schema(responses=BatchOutput(many=True))
    def get(self, request: Request, project_id: int) -> Response:
        project, role = get_project_for(request.user, project_id)
        return Response(batches_output(visible_batches(user=request.user, project=project, role=role)))

    @extend_schema(request=BatchCreateInput, responses={201: BatchOutput(many=True)})
    def post(self, request: Request, project_id: int) -> Response:
        project, role = get_project_for(request.user, project_id)
        require_manager(role, "create batches")
        body = BatchCreateInput(data=request.data)
        body.is_valid(raise_exception=True)
        batches = services.batches_create(project=project, **body.validated_data)
        return Response(batches_output(Batch.objects.filter(pk__in=[b.pk for b in batches])), status=201)


class BatchDetailApi(APIView):
    parser_classes = [BoundedJSONParser]

    @extend_schema(responses=BatchOutput)
    def get(self, request: Request, batch_id: int) -> Response:
        batch, _ = get_batch_for(request.user, batch_id)
        return Response(batch_output(batch))

    @extend_schema(request=BatchUpdateInput, responses=BatchOutput)
    def patch(self, request: Request, batch_id: int) -> Response:
        batch, role = get_batch_for(request.user, batch_id)
        require_manager(role, "assign batches")
        body = BatchUpdateInput(data=request.data)
        body.is_valid(raise_exception=True)
        return Response(batch_output(services.batch_update(batch=batch, **body.validated_data)))

    @extend_schema(responses={204: None})
    def delete(self, request: Request, batch_id: int) -> Response:
        batch, role = get_batch_for(request.user, batch_id)
        require_manager(role, "delete batches")
        services.batch_delete(batch=batch)
        return Response(status=status.HTTP_204_NO_CONTENT)


class BatchSubmitApi(APIView):
    @extend_schema(request=None, responses=BatchOutput)
    def post(self, request: Request, batch_id: int) -> Response:
        batch, role = get_batch_for(request.user, batch_id)
        if not (role in MANAGING_ROLES or (role == Role.ANNOTATOR and batch.assignee_id == request.user.pk)):
            raise PermissionDenied("Only the batch's annotator or a manager may submit it.")
        return Response(batch_output(services.batch_submit(batch=batch, by=request.user)))


class BatchReviewApi(APIView):
    @extend_schema(request=BatchDecisionInput, responses=BatchOutput)
    def post(self, request: Request, batch_id: int) -> Response:
        batch, role = get_batch_for(request.user, batch_id)
        if not can_review_batch(user=request.user, batch=batch, role=role):
            raise PermissionDenied("Only the batch's reviewer or a manager may review it.")
        body = BatchDecisionInput(data=request.data)
        body.is_valid(raise_exception=True)
        return Response(
            batch_output(services.batch_review(batch=batch, decision=body.validated_data["decision"], by=request.user))
        )
