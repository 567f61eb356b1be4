"""Server-rendered pages: the project list, a project overview, and the annotation workspace and review page
(which mount the Vite bundles from frontend/)."""

from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.csrf import ensure_csrf_cookie

from backend.annotations.selectors import project_statistics
from backend.common.errors import InvalidInput
from backend.images.models import Batch, BatchStatus, Image, ImageStatus
from backend.images.selectors import (
    can_edit_image,
    can_review_batch,
    filter_images,
    get_image_for,
    visible_batches,
    visible_images,
)
from backend.projects.access import MANAGING_ROLES, get_project_for, visible_projects
from backend.projects.models import Role

PROJECT_PAGE_IMAGES = 200


@login_required
@ensure_csrf_cookie  # the API forms (static/web/api-forms.js) send it back
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "web/home.html", {"projects": visible_projects(request.user).order_by("id")})


def _first_to_review(batch: Batch) -> int | None:
    """The id of the batch's first image still to decide."""
    images = batch.images.filter(status=ImageStatus.SUBMITTED).order_by("id")
    return images.values_list("id", flat=True).first()


@login_required
@ensure_csrf_cookie
def project_page(request: HttpRequest, project_id: int) -> HttpResponse:
    project, role = get_project_for(request.user, project_id)
    filters = {key: request.GET.get(key, "").strip() for key in ("status", "batch", "search")}
    images = images_all = visible_images(user=request.user, project=project, role=role)
    filter_error = None
    try:
        images = filter_images(
            images,
            status=filters["status"] or None,
            batch=filters["batch"] or None,
            search=filters["search"] or None,
        )
    except InvalidInput as exc:
        filter_error = exc.message  # shown above the unfiltered list
    batches = visible_batches(user=request.user, project=project, role=role).select_related("assignee", "reviewer")
    editable_batches = {b.pk for b in batches if b.status in (BatchStatus.OPEN, BatchStatus.REJECTED)}
    # A "Review" link per batch the caller reviews and that waits for it.
    review_starts = {
        batch.pk: _first_to_review(batch)
        for batch in batches
        if batch.status == BatchStatus.SUBMITTED and can_review_batch(user=request.user, batch=batch, role=role)
    }
    images = images.select_related("batch").order_by("id")[:PROJECT_PAGE_IMAGES]
    statistics = project_statistics(project=project) if role in MANAGING_ROLES else None
    context = {
        "project": project,
        "role": role,
        "statistics": statistics,
        "members": project.memberships.select_related("user").order_by("role", "user__username")
        if role in MANAGING_ROLES
        else [],
        "roles": Role.choices,
        "unbatched": images_all.filter(batch__isnull=True).count() if role in MANAGING_ROLES else 0,
        "status_counts": [(value, name, statistics["images"][value]) for value, name in ImageStatus.choices]
        if statistics
        else [],
        "images": images,
        "can_edit": {
            image.pk
            for image in images
            if role in MANAGING_ROLES
            or (image.batch_id in editable_batches and image.batch.assignee_id == request.user.pk)
        },
        "can_review": {
            image.pk
            for image in images
            if image.batch_id is not None and can_review_batch(user=request.user, batch=image.batch, role=role)
        },
        "batches": [(batch, review_starts.get(batch.pk)) for batch in batches],
        "labels": project.labels.all(),
        "filters": filters,
        "filter_error": filter_error,
        "statuses": ImageStatus.choices,
    }
    return render(request, "web/project.html", context)


def _page_config(image: Image, neighbours: list[int], url_name: str) -> dict[str, Any]:
    """What the workspace and the review page share: the image, the labels, and links to the project and to the
    previous/next of ``neighbours`` (image ids in order) on the same kind of page."""
    index = neighbours.index(image.pk)
    url = lambda pk: reverse(url_name, args=[pk])  # noqa: E731
    return {
        "image": {
            "id": image.pk,
            "width": image.width,
            "height": image.height,
            "name": image.original_name,
            "url": reverse("image-file", args=[image.pk]),
        },
        "labels": [{"id": label.pk, "name": label.name, "color": label.color} for label in image.project.labels.all()],
        "projectUrl": reverse("project-page", args=[image.project_id]),
        "prevUrl": url(neighbours[index - 1]) if index > 0 else None,
        "nextUrl": url(neighbours[index + 1]) if index + 1 < len(neighbours) else None,
    }


@login_required
def workspace(request: HttpRequest, image_id: int) -> HttpResponse:
    """The annotation workspace of one image: for those who may edit it (others get 403, non-members 404)."""
    image, role = get_image_for(request.user, image_id)
    if not can_edit_image(user=request.user, image=image, role=role):
        raise PermissionDenied("You may not edit this image (only its batch's annotator while the batch is open).")
    neighbours = visible_images(user=request.user, project=image.project, role=role).order_by("id")
    config = _page_config(image, list(neighbours.values_list("id", flat=True)), "workspace")
    config["loginUrl"] = reverse("login")
    config["image"]["status"] = image.status
    return render(request, "web/workspace.html", {"image": image, "config": config})


@login_required
def review_page(request: HttpRequest, image_id: int) -> HttpResponse:
    """An image of a batch with its objects and comments, for the batch's reviewer (and managers) to decide on."""
    image, role = get_image_for(request.user, image_id)
    batch = image.batch
    if batch is None or not can_review_batch(user=request.user, batch=batch, role=role):
        raise PermissionDenied("Only the batch's reviewer or a manager may review this image.")
    config = _page_config(image, list(batch.images.order_by("id").values_list("id", flat=True)), "review")
    config["image"]["status"] = image.status
    config["batch"] = {"id": batch.pk, "name": batch.name, "status": batch.status}
    return render(request, "web/review.html", {"image": image, "config": config})


def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"ok": True})
