"""Reads of images and batches, scoped to what the caller's role lets them see."""

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Count, Q, QuerySet
from django.http import Http404

from backend.common.errors import InvalidInput
from backend.images.models import Batch, BatchStatus, Image, ImageStatus
from backend.projects.access import MANAGING_ROLES, get_project_for
from backend.projects.models import Project, Role


def _visible_to(queryset: QuerySet, *, user: AbstractBaseUser, role: Role, batch: str) -> QuerySet:
    """``queryset`` narrowed to what ``role`` sees: everything for managers, else the batches ``user`` annotates
    (annotators) or reviews (reviewers). ``batch`` is the path from the rows to their batch ("" for batches)."""
    if role in MANAGING_ROLES:
        return queryset
    person = "assignee" if role == Role.ANNOTATOR else "reviewer"
    return queryset.filter(**{f"{batch}{person}": user})


def visible_batches(*, user: AbstractBaseUser, project: Project, role: Role) -> QuerySet[Batch]:
    return _visible_to(Batch.objects.filter(project=project), user=user, role=role, batch="")


def with_image_counts(batches: QuerySet[Batch]) -> QuerySet[Batch]:
    """``batches`` annotated with how many images each has, how many of them have no object (``empty_images``)
    and how many the reviewer accepted or rejected (``accepted_images``, ``rejected_images``)."""
    return batches.annotate(
        image_count=_count_images(),
        empty_images=_count_images(images__annotation_objects__isnull=True),
        accepted_images=_count_images(images__status=ImageStatus.ACCEPTED),
        rejected_images=_count_images(images__status=ImageStatus.REJECTED),
    )


def _count_images(**where: object) -> Count:
    # distinct: the join to the objects repeats an image once per object
    return Count("images", distinct=True, filter=Q(**where) if where else None)


def visible_images(*, user: AbstractBaseUser, project: Project, role: Role) -> QuerySet[Image]:
    return _visible_to(Image.objects.filter(project=project), user=user, role=role, batch="batch__")


def filter_images(
    images: QuerySet[Image], *, status: str | None = None, batch: str | None = None, search: str | None = None
) -> QuerySet[Image]:
    """``images`` narrowed by the list filters as typed in a URL; a malformed value raises :class:`InvalidInput`.

    ``status``: comma-separated image statuses; ``batch``: a batch id or ``none`` (unbatched); ``search``: part of
    the file name.
    """
    if status:
        statuses = {part.strip() for part in status.split(",") if part.strip()}
        unknown = sorted(statuses - set(ImageStatus.values))
        if unknown:
            raise InvalidInput(
                f"Unknown image status {', '.join(map(repr, unknown))}; use {', '.join(ImageStatus.values)}.",
                code="bad_filter",
            )
        images = images.filter(status__in=statuses)
    if batch == "none":
        images = images.filter(batch__isnull=True)
    elif batch:
        if not batch.isascii() or not batch.isdigit() or len(batch) > 18:
            raise InvalidInput(f"'batch' is a batch id (a number) or 'none', not {batch[:40]!r}.", code="bad_filter")
        images = images.filter(batch_id=int(batch))
    if search:
        if "\x00" in search or len(search) > 255:
            raise InvalidInput("'search' is part of a file name: at most 255 characters, no NUL.", code="bad_filter")
        images = images.filter(original_name__icontains=search)
    return images


def get_image_for(user: AbstractBaseUser, image_id: int) -> tuple[Image, Role]:
    """The image and the caller's role in its project, or 404 when the caller may not see it."""
    image = Image.objects.select_related("project", "batch").filter(pk=image_id).first()
    if image is None:
        raise Http404("No such image.")
    project, role = get_project_for(user, image.project_id)
    if not visible_images(user=user, project=project, role=role).filter(pk=image.pk).exists():
        raise Http404("No such image.")
    return image, role


def get_batch_for(user: AbstractBaseUser, batch_id: int) -> tuple[Batch, Role]:
    batch = Batch.objects.select_related("project").filter(pk=batch_id).first()
    if batch is None:
        raise Http404("No such batch.")
    project, role = get_project_for(user, batch.project_id)
    if not visible_batches(user=user, project=project, role=role).filter(pk=batch.pk).exists():
        raise Http404("No such batch.")
    return batch, role


EDITABLE_BATCH_STATUSES = {BatchStatus.OPEN, BatchStatus.REJECTED}


def edit_refusal(*, user: AbstractBaseUser, image: Image, role: Role) -> str | None:
    """Why ``user`` may not change the objects of ``image`` now, or ``None`` when they may.

    Managers always may. The annotator of the image's batch may while the batch is with them (open, or rejected
    back to them) — except on images the reviewer already accepted: those stay as accepted (a resubmission is
    reviewed where it was rejected), so only a manager changes them.
    """
    if role in MANAGING_ROLES:
        return None
    batch = image.batch
    if role != Role.ANNOTATOR or batch is None or batch.assignee_id != user.pk:
        return "Only the annotator of this image's batch (or a manager) may edit it."
    if batch.status not in EDITABLE_BATCH_STATUSES:
        return f"The batch is {batch.status}; it can be edited while it is open or rejected back to you."
    if image.status == ImageStatus.ACCEPTED:
        return "The reviewer accepted this image; only a manager may change it now."
    return None


def can_edit_image(*, user: AbstractBaseUser, image: Image, role: Role) -> bool:
    return edit_refusal(user=user, image=image, role=role) is None


def can_review_batch(*, user: AbstractBaseUser, batch: Batch, role: Role) -> bool:
    return role in MANAGING_ROLES or (role == Role.REVIEWER and batch.reviewer_id == user.pk)


def unbatched_images(*, project: Project) -> QuerySet[Image]:
    return Image.objects.filter(project=project, batch__isnull=True).order_by("id")


def images_in(project: Project, ids: list[int]) -> QuerySet[Image]:
    return Image.objects.filter(Q(project=project) & Q(pk__in=ids))
