from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Avg, Count, Exists, OuterRef, Q, QuerySet, Sum
from django.http import Http404

from backend.annotations.models import AnnotationObject, AnnotationRevision, Comment, ObjectSource, RevisionAction
from backend.images.models import Image, ImageStatus
from backend.images.selectors import get_image_for
from backend.projects.models import Project, Role


def image_objects(*, image: Image) -> QuerySet[AnnotationObject]:
    return image.annotation_objects.select_related("label", "author", "last_editor").order_by("id")


def get_object_for(user: AbstractBaseUser, object_id: int) -> tuple[AnnotationObject, Role]:
    obj = (
        AnnotationObject.objects.select_related("image", "label", "author", "last_editor").filter(pk=object_id).first()
    )
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
    return AnnotationRevision.objects.filter(object_id=object_id).select_related("author").order_by("version")


def image_comments(*, image: Image) -> QuerySet[Comment]:
    comments = image.comments.select_related("author", "object").order_by("id")
    return comments.defer("object__polygons", "object__mask_rle", "object__clicks")  # only the number is shown


def edits_per_person(*, project: Project) -> dict[str, int]:
    """Per username, how many of the project's objects created by someone else they changed (updates; a relabel
    by a label delete has no editor)."""
    by_another = AnnotationObject.objects.filter(pk=OuterRef("object_id")).exclude(author_id=OuterRef("author_id"))
    edits = AnnotationRevision.objects.filter(
        image__project=project, action=RevisionAction.UPDATE, author__isnull=False
    )
    rows = edits.filter(Exists(by_another)).values("author__username").annotate(n=Count("object_id", distinct=True))
    return {row["author__username"]: row["n"] for row in rows}


def project_statistics(*, project: Project) -> dict[str, Any]:
    """Progress and effort in a project: images per status, objects per label and source, and per person the
    images of their batches (by review outcome), the objects they created (`created`, alias `objects`: those that
    exist, with their clicks and seconds spent) and the objects of others they changed (`edited`)."""
    images = Image.objects.filter(project=project)
    objects = AnnotationObject.objects.filter(image__project=project)
    interactive = Q(source=ObjectSource.INTERACTIVE)
    people: dict[str, dict[str, Any]] = {}

    def person(name: str) -> dict[str, Any]:
        return people.setdefault(
            name,
            {"username": name, "images": 0, "accepted": 0, "rejected": 0, "created": 0, "edited": 0, "objects": 0,
             "interactive_objects": 0, "mean_clicks": None, "seconds": 0.0},
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
        entry.update(created=row["n"], objects=row["n"], interactive_objects=row["interactive"], mean_clicks=clicks)
        entry["seconds"] = round(row["seconds"] or 0.0, 1)
    for name, edited in edits_per_person(project=project).items():
        person(name)["edited"] = edited
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
