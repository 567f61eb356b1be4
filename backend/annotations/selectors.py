from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Avg, Count, Q, QuerySet, Sum
from django.http import Http404

from backend.annotations.models import AnnotationObject, AnnotationRevision, Comment, ObjectSource
from backend.images.models import Image, ImageStatus
from backend.images.selectors import get_image_for
from backend.projects.models import Project, Role


def image_objects(*, image: Image) -> QuerySet[AnnotationObject]:
    return image.annotation_objects.select_related("label").order_by("id")


def get_object_for(user: AbstractBaseUser, object_id: int) -> tuple[AnnotationObject, Role]:
    obj = AnnotationObject.objects.select_related("image", "label").filter(pk=object_id).first()
    if obj is None:
        raise Http404("No such object.")
    image, role = get_image_for(user, obj.image_id)
    obj.image = image
    return obj, role


def get_image_of_object_ever(user: AbstractBaseUser, object_id: int) -> tuple[Image, Role]:
    """The image an object is or was on (deleted objects too, from their history), or 404 for the caller."""
    image_id = AnnotationRevision.objects.filter(object_id=object_id).values_list("image_id", flat=True).first()
    if image_id is None:
        raise Http404("No such object.")
    return get_image_for(user, image_id)


def object_revisions(*, object_id: int) -> QuerySet[AnnotationRevision]:
    return AnnotationRevision.objects.filter(object_id=object_id).order_by("version")


def image_comments(*, image: Image) -> QuerySet[Comment]:
    return image.comments.select_related("author").order_by("id")


def project_statistics(*, project: Project) -> dict[str, Any]:
    """Progress and effort in a project: images per status, objects per label and source, and per person the
    images of their batches (by review outcome) and the objects they made (clicks and seconds spent)."""
    images = Image.objects.filter(project=project)
    objects = AnnotationObject.objects.filter(image__project=project)
    interactive = Q(source=ObjectSource.INTERACTIVE)
    people: dict[str, dict[str, Any]] = {}

    def person(name: str) -> dict[str, Any]:
        return people.setdefault(
            name,
            {"username": name, "images": 0, "accepted": 0, "rejected": 0, "objects": 0, "interactive_objects": 0,
             "mean_clicks": None, "seconds": 0.0},
        )  # fmt: skip

    assigned = images.filter(batch__assignee__isnull=False).values("batch__assignee__username")
    for row in assigned.annotate(
        n=Count("id"),
        accepted=Count("id", filter=Q(status=ImageStatus.ACCEPTED)),
        rejected=Count("id", filter=Q(status=ImageStatus.REJECTED)),
    ):
        entry = person(row["batch__assignee__username"])
        entry.update(images=row["n"], accepted=row["accepted"], rejected=row["rejected"])
    for row in (
        objects.filter(author__isnull=False)
        .values("author__username")
        .annotate(
            n=Count("id"),
            interactive=Count("id", filter=interactive),
            clicks=Avg("clicks_used", filter=interactive),
            seconds=Sum("seconds_spent"),
        )
    ):
        entry = person(row["author__username"])
        clicks = round(row["clicks"], 2) if row["clicks"] is not None else None
        entry.update(objects=row["n"], interactive_objects=row["interactive"], mean_clicks=clicks)
        entry["seconds"] = round(row["seconds"] or 0.0, 1)
    return {
        "images": {status: 0 for status in ImageStatus.values}
        | {row["status"]: row["n"] for row in images.values("status").annotate(n=Count("id"))},
        "objects": objects.count(),
        "objects_by_source": {row["source"]: row["n"] for row in objects.values("source").annotate(n=Count("id"))},
        "objects_by_label": [
            {"label": row["label__name"], "color": row["label__color"], "count": row["n"]}
            for row in objects.values("label__name", "label__color", "label__order")
            .annotate(n=Count("id"))
            .order_by("label__order", "label__name")
        ],
        "people": sorted(people.values(), key=lambda p: p["username"]),
    }
