"""Server-rendered pages: the project list and a project overview (its batches, images, progress and the
managers' forms). The pages of one image are in image_pages.py."""

from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet
from django.db.utils import DatabaseError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import ensure_csrf_cookie
from drf_spectacular.utils import extend_schema
from rest_framework.decorators import api_view, permission_classes
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

from backend.annotations.selectors import project_statistics
from backend.common.errors import InvalidInput
from backend.images.models import Batch, BatchStatus, Image, ImageStatus
from backend.images.selectors import (
    can_edit_image,
    can_review_batch,
    filter_images,
    visible_batches,
    visible_images,
    with_image_counts,
)
from backend.interactive.inference_status import inference_status
from backend.interactive.jobs import click_jobs, worker_id
from backend.projects.access import MANAGING_ROLES, get_project_for, visible_projects
from backend.projects.models import Project, Role
from backend.projects.services import next_label_colour
from backend.web.health import readiness_report

PROJECT_PAGE_IMAGES = 200
SUBMITTABLE = (BatchStatus.OPEN, BatchStatus.REJECTED)


@login_required
@ensure_csrf_cookie  # the API forms (static/web/api-forms.js) send it back
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "web/home.html", {"projects": visible_projects(request.user).order_by("id")})


def _first_to_review(batch: Batch) -> int | None:
    """The id of the batch's first image still to decide, else (all decided, the review not finished yet) of its
    first image: the reviewer goes back to revise or to finish the review."""
    ids = batch.images.order_by("id").values_list("id", flat=True)
    return ids.filter(status=ImageStatus.SUBMITTED).first() or ids.first()


def _may_submit(user: AbstractBaseUser, batch: Batch, role: Role) -> bool:
    """The rule of ``POST /api/batches/{id}/submit``: the batch's annotator or a manager, while it is with them."""
    mine = role in MANAGING_ROLES or (role == Role.ANNOTATOR and batch.assignee_id == user.pk)
    return mine and batch.status in SUBMITTABLE


def _batch_rows(user: AbstractBaseUser, batches: list[Batch], role: Role) -> list[dict[str, Any]]:
    """One row of the batches table per batch: a "Review" link where the caller reviews a batch that waits for
    it, a "Submit batch" control where the caller may submit it."""
    return [
        {
            "batch": batch,
            "review_start": _first_to_review(batch)
            if batch.status == BatchStatus.SUBMITTED and can_review_batch(user=user, batch=batch, role=role)
            else None,
            "may_submit": _may_submit(user, batch, role),
        }
        for batch in batches
    ]


def _filtered(images: QuerySet[Image], filters: dict[str, str]) -> tuple[QuerySet[Image], str | None]:
    """``images`` narrowed by the page's filters, or all of them with the reason a filter is malformed."""
    try:
        narrowed = filter_images(
            images, status=filters["status"] or None, batch=filters["batch"] or None, search=filters["search"] or None
        )
    except InvalidInput as exc:
        return images, exc.message  # shown above the unfiltered list
    return narrowed, None


def _manager_context(project: Project, images_all: QuerySet[Image]) -> dict[str, Any]:
    statistics = project_statistics(project=project)
    return {
        "statistics": statistics,
        "members": project.memberships.select_related("user").order_by("role", "user__username"),
        "unbatched": images_all.filter(batch__isnull=True).count(),
        "status_counts": [(value, name, statistics["images"][value]) for value, name in ImageStatus.choices],
        "next_colour": next_label_colour(project=project),
    }


@login_required
@ensure_csrf_cookie
def project_page(request: HttpRequest, project_id: int) -> HttpResponse:
    project, role = get_project_for(request.user, project_id)
    managing = role in MANAGING_ROLES
    filters = {key: request.GET.get(key, "").strip() for key in ("status", "batch", "search")}
    images_all = visible_images(user=request.user, project=project, role=role)
    images, filter_error = _filtered(images_all, filters)
    batches = list(
        with_image_counts(visible_batches(user=request.user, project=project, role=role))
        .select_related("assignee", "reviewer")
        .order_by("id")
    )
    images = list(images.select_related("batch").order_by("id")[:PROJECT_PAGE_IMAGES])
    can_edit = {image.pk for image in images if can_edit_image(user=request.user, image=image, role=role)}
    can_review = {
        image.pk
        for image in images
        if image.batch_id is not None and can_review_batch(user=request.user, batch=image.batch, role=role)
    }
    context = {
        "project": project,
        "role": role,
        "managing": managing,
        "statistics": None,
        "members": [],
        "roles": Role.choices,
        "images": images,
        "can_edit": can_edit,
        "can_review": can_review,
        "selectable": {image.pk for image in images if managing and image.batch_id is None},
        "batches": batches,
        "batch_rows": _batch_rows(request.user, batches, role),
        "labels": project.labels.all(),
        "filters": filters,
        "filter_error": filter_error,
        "submitted": request.GET.get("submitted", ""),
        "statuses": ImageStatus.choices,
        "live": {  # project-live.js: the project socket, and the status names it shows
            "project": project.pk,
            "heartbeatS": settings.LEASE_HEARTBEAT_S,
            "imageStatuses": dict(ImageStatus.choices),
            "batchStatuses": dict(BatchStatus.choices),
        },
    }
    if managing:
        context |= _manager_context(project, images_all)
    return render(request, "web/project.html", context)


@extend_schema(exclude=True)  # operations, not the API
@api_view(["GET"])
@permission_classes([AllowAny])
def healthz(request: Request) -> Response:
    """Liveness; to signed-in users (session or token) also what runs the model: per inference process its CPU
    and each loaded model's engine (host names and CPUs are not for anonymous probes)."""
    if not request.user.is_authenticated:
        return Response({"ok": True})
    in_process = not click_jobs.uses_celery
    return Response({"ok": True, "inference": inference_status(in_process=in_process, worker=worker_id())})


@extend_schema(exclude=True)  # operations, not the API
@api_view(["GET"])
@permission_classes([AllowAny])
def readyz(request: Request) -> Response:
    """200 when this deployment serves a team now (database, Redis, a warm inference worker), else 503; the
    reasons to signed-in users only (anonymous probes get the booleans)."""
    try:
        signed_in = request.user.is_authenticated
    except DatabaseError:  # the session or token cannot be looked up: answer as to an anonymous probe
        signed_in = False
    ready, report = readiness_report(details=signed_in)
    return Response(report, status=200 if ready else 503)
