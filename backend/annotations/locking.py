"""Row locks for writes to labels, images and objects, always taken in one order so writers never deadlock:

1. label classes, by id: FOR UPDATE to delete one or move its objects away (`label_delete`, `objects_relabel`);
   FOR KEY SHARE to put one on an object (object create, update, restore). Writers using one label do not wait
   for each other, while the label is kept from being deleted under them — and a label delete waits for them.
2. images, by id;
3. objects, by id (each after its image).

A transaction takes every lock of a level before any of the next one. SQLite serialises writing transactions
(immediate transactions), so there the row locks are no-ops.
"""

from collections.abc import Iterable

from django.db import connection
from django.http import Http404

from backend.annotations.models import AnnotationObject
from backend.images.models import Image
from backend.projects.models import LabelClass


def lock_label(label_id: int) -> LabelClass | None:
    """The label locked for a change of what uses it (FOR UPDATE), or None when it no longer exists."""
    return LabelClass.objects.select_for_update().filter(pk=label_id).first()


def share_label(label_id: object) -> LabelClass | None:
    """The label, kept from being deleted until the transaction ends (FOR KEY SHARE), or None when there is none.

    Django's ORM has no FOR KEY SHARE; this is the lock PostgreSQL's own foreign-key check takes, taken now
    rather than at commit (Django's foreign keys are deferred), so that a label delete waits for the object.
    """
    labels = LabelClass.objects.filter(pk=label_id).order_by()
    if connection.vendor != "postgresql":
        return labels.first()
    sql, params = labels.query.sql_with_params()
    return next(iter(LabelClass.objects.raw(f"{sql} FOR KEY SHARE", params)), None)


def lock_labels_for_move(*, source_id: int, target_id: int) -> tuple[LabelClass | None, LabelClass | None]:
    """Lock ``source`` (FOR UPDATE) and keep ``target`` (FOR KEY SHARE), in id order; None for one that is gone."""
    locked: dict[int, LabelClass | None] = {}
    for label_id in sorted({source_id, target_id}):
        locked[label_id] = lock_label(label_id) if label_id == source_id else share_label(label_id)
    return locked[source_id], locked[target_id]


def lock_image(image_id: int) -> Image:
    return Image.objects.select_for_update().get(pk=image_id)


def lock_images(image_ids: Iterable[int]) -> list[Image]:
    """Several images, locked in id order."""
    return list(Image.objects.select_for_update().filter(pk__in=set(image_ids)).order_by("id"))


def lock_object(object_id: int) -> AnnotationObject:
    """The object locked (after its image), or 404 when it is gone: a concurrent delete may have committed since
    the caller read it, or while this waited for the lock."""
    image_id = AnnotationObject.objects.filter(pk=object_id).values_list("image_id", flat=True).first()
    if image_id is None:
        raise Http404("No such object.")
    lock_image(image_id)
    # OF self: the joined label and users are read, not locked (the label is only shared: see level 1)
    objects = AnnotationObject.objects.select_for_update(of=("self",))
    obj = objects.select_related("label", "author", "last_editor").filter(pk=object_id).first()
    if obj is None:
        raise Http404("No such object.")
    return obj


def lock_objects_of_label(label_id: int) -> list[AnnotationObject]:
    """Every object using the label, with their images, in the order above.

    The caller holds the label FOR UPDATE (`lock_label`): no object can take the label meanwhile, so the images
    read before their locks are all the images of its objects.
    """
    objects = AnnotationObject.objects.filter(label_id=label_id)
    lock_images(objects.values_list("image_id", flat=True))
    return list(objects.select_for_update().order_by("id"))
