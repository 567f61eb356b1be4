"""The pages of one image, which mount the Vite bundles from frontend/: the annotation workspace, the review page
and the read-only view (the review page's bundle with ``config.mode = "read-only"``)."""

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from backend.images.api import image_file_url
from backend.images.models import Batch, Image
from backend.images.selectors import can_review_batch, edit_refusal, get_image_for, visible_images
from backend.images.tiles import tiles_info
from backend.web.refusals import PageRefused


def _page_config(image: Image, neighbours: list[int], url_name: str) -> dict[str, Any]:
    """What the image pages share: the image, the labels, and links to the project and to the previous/next of
    ``neighbours`` (image ids in order) on the same kind of page."""
    index = neighbours.index(image.pk)
    url = lambda pk: reverse(url_name, args=[pk])  # noqa: E731
    return {
        "image": {
            "id": image.pk,
            "width": image.width,
            "height": image.height,
            "name": image.original_name,
            "url": image_file_url(image),
            "status": image.status,
            "source": _source_config(image),
            "tiles": tiles_info(image),  # a tiled image is shown from its pyramid, never its file
        },
        "labels": [{"id": label.pk, "name": label.name, "color": label.color} for label in image.project.labels.all()],
        "projectUrl": reverse("project-page", args=[image.project_id]),
        "prevUrl": url(neighbours[index - 1]) if index > 0 else None,
        "nextUrl": url(neighbours[index + 1]) if index + 1 < len(neighbours) else None,
    }


def _source_config(image: Image) -> dict[str, Any] | None:
    """How a source (16-bit, DICOM…) is shown: its display mapping, presets, slices and bands (None for a photo).
    Slice ``i`` is ``url`` + ``&slice=i``; ``displayUrl`` takes a new mapping (PUT)."""
    if not image.is_source:
        return None
    return {
        "kind": image.kind,
        "slices": image.slice_count,
        "bands": image.band_count,
        "sampleType": image.sample_type,
        "display": image.display,
        "presets": image.presets,
        "meta": image.meta,
        "displayUrl": reverse("image-display", args=[image.pk]),
    }


def _batch_config(batch: Batch | None) -> dict[str, Any] | None:
    return {"id": batch.pk, "name": batch.name, "status": batch.status} if batch else None


@login_required
def workspace(request: HttpRequest, image_id: int) -> HttpResponse:
    """The annotation workspace of one image, for those who may edit it. Who may only see the image is sent to
    its read-only view with the reason (non-members get 404)."""
    image, role = get_image_for(request.user, image_id)
    refusal = edit_refusal(user=request.user, image=image, role=role)
    if refusal is not None:
        messages.warning(request, f"You cannot edit this image: {refusal} It is shown read-only.")
        return redirect("image-view", image.pk)
    neighbours = visible_images(user=request.user, project=image.project, role=role).order_by("id")
    config = _page_config(image, list(neighbours.values_list("id", flat=True)), "workspace")
    config["loginUrl"] = reverse("login")
    config["batch"] = _batch_config(image.batch)
    config["user"] = {"id": request.user.pk, "username": request.user.get_username()}
    return render(request, "web/workspace.html", {"image": image, "config": config})


@login_required
def review_page(request: HttpRequest, image_id: int) -> HttpResponse:
    """An image of a batch with its objects and comments, for the batch's reviewer (and managers) to decide on."""
    image, role = get_image_for(request.user, image_id)
    batch = image.batch
    if batch is None or not can_review_batch(user=request.user, batch=batch, role=role):
        raise PageRefused("Only the batch's reviewer or a manager may review this image.", project=image.project)
    config = _page_config(image, list(batch.images.order_by("id").values_list("id", flat=True)), "review")
    config["batch"] = _batch_config(batch)
    config["mode"] = "review"
    return render(request, "web/review.html", {"image": image, "config": config})


@login_required
def image_view(request: HttpRequest, image_id: int) -> HttpResponse:
    """One image with its objects and comments, read-only, for anyone who may see it (non-members get 404).
    Previous/next step through the images of its batch the caller sees (or all they see, if unbatched)."""
    image, role = get_image_for(request.user, image_id)
    neighbours = visible_images(user=request.user, project=image.project, role=role)
    neighbours = neighbours.filter(batch=image.batch) if image.batch else neighbours.filter(batch__isnull=True)
    config = _page_config(image, list(neighbours.order_by("id").values_list("id", flat=True)), "image-view")
    config["batch"] = _batch_config(image.batch)
    config["mode"] = "read-only"
    return render(request, "web/review.html", {"image": image, "config": config})
