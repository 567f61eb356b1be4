"""Write paths for annotation objects (optimistic concurrency + revision history) and comments."""

from collections.abc import Callable
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from backend.annotations.clicks import check_clicks
from backend.annotations.geometry import Shape, shape_from_mask, shape_from_polygons
from backend.annotations.locking import (
    lock_image,
    lock_labels_for_move,
    lock_object,
    lock_objects_of_label,
    share_label,
)
from backend.annotations.models import (
    AnnotationObject,
    AnnotationRevision,
    Comment,
    ObjectSource,
    RevisionAction,
)
from backend.collab import broadcast
from backend.common.errors import Conflict, InvalidInput
from backend.common.text import checked_text
from backend.exports.coco_geometry import coco_text
from backend.images.models import Image
from backend.images.renderings import check_slice
from backend.images.services import image_mark_in_progress
from backend.projects.models import LabelClass

COMMENT_MAX_LENGTH = 10_000  # characters


def object_snapshot(obj: AnnotationObject) -> dict[str, Any]:
    return {
        "id": obj.pk,
        "image": obj.image_id,
        "number": obj.number,
        "slice": obj.slice,
        "label": obj.label_id,
        "polygons": obj.polygons,
        "mask_rle": obj.mask_rle,
        "bbox": obj.bbox,
        "area": obj.area,
        "source": obj.source,
        "clicks": obj.clicks,
        "clicks_used": obj.clicks_used,
        "seconds_spent": obj.seconds_spent,
        "version": obj.version,
        "client_key": obj.client_key,
        "author": obj.author_id,
        "last_editor": obj.last_editor_id,
        "updated_at": obj.updated_at.isoformat() if obj.updated_at else None,
    }


def _record(obj: AnnotationObject, action: RevisionAction, user: AbstractBaseUser | None) -> None:
    AnnotationRevision.objects.create(
        object_id=obj.pk,
        image_id=obj.image_id,
        version=obj.version,
        action=action,
        author=user,
        snapshot=object_snapshot(obj),
    )


def _share_label(label_id: Any) -> LabelClass | None:
    """The label an object is to take, kept from deletion (taken before the image: see `locking`)."""
    return share_label(label_id) if label_id else None


def _label_of(image: Image, label: LabelClass | None, label_id: Any) -> LabelClass:
    if label is None or label.project_id != image.project_id:
        raise InvalidInput(f"Label {label_id!r} does not exist in this project.", code="unknown_label")
    return label


def _check_source(source: str) -> str:
    if source not in ObjectSource.values:
        raise InvalidInput(
            f"Unknown source {source!r}; use one of {', '.join(ObjectSource.values)}.", code="bad_source"
        )
    return source


def _take_number(image: Image) -> int:
    """The next object number of the image, counted up for good (the caller holds the image's lock)."""
    number = image.next_object_number
    image.next_object_number = number + 1
    Image.objects.filter(pk=image.pk).update(next_object_number=image.next_object_number)
    return number


def _restored_number(image: Image, number: Any) -> int:
    """The number a deleted object had, or a new one (deleted before objects had numbers, or taken meanwhile)."""
    if isinstance(number, int) and number > 0 and not image.annotation_objects.filter(number=number).exists():
        return number
    return _take_number(image)


def _creator(object_id: int) -> AbstractBaseUser | None:
    """Who created the object, from its create revision (None when that account is gone)."""
    created = AnnotationRevision.objects.filter(object_id=object_id, action=RevisionAction.CREATE)
    return get_user_model().objects.filter(pk__in=created.values("author_id")).first()


def _check_version(obj: AnnotationObject, based_on: Any) -> None:
    if not isinstance(based_on, int) or isinstance(based_on, bool):
        raise InvalidInput("'version' (the version your change is based on) is required.", code="version_required")
    if based_on != obj.version:
        raise Conflict(
            f"The object changed since version {based_on}; it is now at version {obj.version}.",
            code="stale_version",
            details={"current": object_snapshot(obj)},
        )


@transaction.atomic
def object_create(
    *,
    image: Image,
    author: AbstractBaseUser,
    label_id: Any,
    polygons: Any,
    source: str = ObjectSource.MANUAL,
    clicks: Any = None,
    clicks_used: int = 0,
    seconds_spent: float = 0.0,
    client_key: str | None = None,
    slice_index: int = 0,
) -> AnnotationObject:
    """Create an object, numbered next on its image (on slice ``slice_index`` of a stack); with a `client_key` already used on this image, return that
    object instead.

    The key makes a create safe to retry when its answer was lost (a dropped connection, a replayed journal).
    `clicks` are those the shape was computed from (none for drawn or imported objects).
    """
    return _create(
        image=image,
        author=author,
        label_id=label_id,
        shape_of=lambda image: shape_from_polygons(polygons, image.width, image.height),
        source=source,
        clicks=clicks,
        clicks_used=clicks_used,
        seconds_spent=seconds_spent,
        client_key=client_key,
        slice_index=slice_index,
    )


@transaction.atomic
def object_create_from_mask(
    *,
    image: Image,
    author: AbstractBaseUser,
    label_id: Any,
    mask: Any,
    source: str = ObjectSource.IMPORTED,
    client_key: str | None = None,
    slice_index: int = 0,
) -> AnnotationObject:
    """Create an object from an exact mask (bool, the image's height × width): the mask is stored as it is and
    editable polygons are derived from it (a one-pixel speck keeps a minimal polygon). Idempotent by `client_key`
    like :func:`object_create`."""

    def shape_of(image: Image) -> Shape:
        if getattr(mask, "shape", None) != (image.height, image.width):
            raise InvalidInput(f"The mask is not the image's {image.width}×{image.height} pixels.", code="bad_mask")
        return shape_from_mask(mask)

    return _create(
        image=image,
        author=author,
        label_id=label_id,
        shape_of=shape_of,
        source=source,
        client_key=client_key,
        slice_index=slice_index,
    )


def _create(
    *,
    image: Image,
    author: AbstractBaseUser,
    label_id: Any,
    shape_of: Callable[[Image], Shape],
    source: str,
    clicks: Any = None,
    clicks_used: int = 0,
    seconds_spent: float = 0.0,
    client_key: str | None = None,
    slice_index: int = 0,
) -> AnnotationObject:
    label = _share_label(label_id)
    image = lock_image(image.pk)
    if client_key:
        existing = image.annotation_objects.filter(client_key=client_key).first()
        if existing is not None:
            return existing
    check_slice(image, slice_index)
    shape = shape_of(image)
    checked_clicks = check_clicks([] if clicks is None else clicks, image.width, image.height)
    label, source = _label_of(image, label, label_id), _check_source(source)
    obj = AnnotationObject.objects.create(
        image=image,
        number=_take_number(image),
        slice=slice_index,
        label=label,
        polygons=shape.polygons,
        mask_rle=shape.mask_rle,
        bbox=shape.bbox,
        area=shape.area,
        coco=coco_text(shape.mask_rle),
        author=author,
        source=source,
        clicks=checked_clicks,
        clicks_used=max(0, int(clicks_used)),
        seconds_spent=max(0.0, float(seconds_spent)),
        version=1,
        client_key=client_key or None,
    )
    _record(obj, RevisionAction.CREATE, author)
    image_mark_in_progress(image=image, by=author)
    broadcast.object_changed(obj, "created", author)
    return obj


@transaction.atomic
def object_update(
    *,
    obj: AnnotationObject,
    author: AbstractBaseUser,
    version: Any,
    label_id: Any = None,
    polygons: Any = None,
    clicks: Any = None,
    clicks_used: int | None = None,
    seconds_spent: float | None = None,
) -> AnnotationObject:
    """Change an object based on `version`; `author` (the editor) becomes its `last_editor`, its creator stays.

    Fields left None are kept — `clicks` too (a vertex edit keeps the clicks; ``[]`` clears them).
    """
    label = _share_label(label_id) if label_id is not None else None
    obj = lock_object(obj.pk)
    _check_version(obj, version)
    if label_id is not None:
        obj.label = _label_of(obj.image, label, label_id)
    if polygons is not None:
        shape = shape_from_polygons(polygons, obj.image.width, obj.image.height)
        obj.polygons, obj.mask_rle, obj.bbox, obj.area = shape.polygons, shape.mask_rle, shape.bbox, shape.area
        obj.coco = coco_text(shape.mask_rle)
    if clicks is not None:
        obj.clicks = check_clicks(clicks, obj.image.width, obj.image.height)
    if clicks_used is not None:
        obj.clicks_used = max(0, int(clicks_used))
    if seconds_spent is not None:
        obj.seconds_spent = max(0.0, float(seconds_spent))
    obj.version += 1
    obj.last_editor = author
    obj.save()
    _record(obj, RevisionAction.UPDATE, author)
    image_mark_in_progress(image=obj.image, by=author)
    broadcast.object_changed(obj, "updated", author)
    return obj


@transaction.atomic
def object_delete(*, obj: AnnotationObject, author: AbstractBaseUser, version: Any) -> None:
    obj = lock_object(obj.pk)
    _check_version(obj, version)
    obj.version += 1
    _record(obj, RevisionAction.DELETE, author)
    broadcast.object_changed(obj, "deleted", author)  # as it was, at the version its deletion has
    obj.comments.update(detached_from_object_id=obj.pk)
    obj.delete()


@transaction.atomic
def object_restore(*, object_id: int, author: AbstractBaseUser, version: Any) -> AnnotationObject:
    """Bring a deleted object back under its own id, as it was when deleted (its number and creator too), as a
    new version; the restorer becomes its `last_editor`.

    ``version`` is the version the object had when it was deleted (what the deleting client knew); a restore of
    an object that was changed or restored since, or that still exists, is a conflict.
    """
    revisions = AnnotationRevision.objects.filter(object_id=object_id).order_by("-version")
    seen = revisions.first()
    if seen is None:
        raise InvalidInput(f"Object {object_id} never existed.", code="unknown_object")
    label = _share_label(seen.snapshot.get("label"))
    image = lock_image(seen.image_id)
    existing = AnnotationObject.objects.filter(pk=object_id).first()
    if existing is not None:
        raise Conflict("The object is not deleted.", code="not_deleted", details={"current": object_snapshot(existing)})
    last = revisions.first()  # under the lock; a newer one than `seen` means a newer delete than the caller's
    stale = last.pk != seen.pk or last.action != RevisionAction.DELETE
    if stale or not isinstance(version, int) or last.version != version + 1:
        raise Conflict(
            f"The object was not deleted at version {version}; it cannot be restored from it.",
            code="stale_version",
            details={"current": None},
        )
    snapshot = last.snapshot
    if label is None or label.project_id != image.project_id:
        raise Conflict("The object's label has been deleted since; create it again with another.", code="label_gone")
    client_key = snapshot.get("client_key")
    if client_key and image.annotation_objects.filter(client_key=client_key).exists():
        client_key = None  # already reused by a new object
    obj = AnnotationObject.objects.create(
        pk=object_id,
        image=image,
        number=_restored_number(image, snapshot.get("number")),
        slice=snapshot.get("slice", 0),
        label=label,
        polygons=snapshot["polygons"],
        mask_rle=snapshot["mask_rle"],
        bbox=snapshot["bbox"],
        area=snapshot["area"],
        coco=coco_text(snapshot["mask_rle"]),
        author=_creator(object_id),
        last_editor=author,
        source=snapshot["source"],
        clicks=snapshot.get("clicks", []),
        clicks_used=snapshot["clicks_used"],
        seconds_spent=snapshot["seconds_spent"],
        version=last.version + 1,
        client_key=client_key,
    )
    _record(obj, RevisionAction.RESTORE, author)
    Comment.objects.filter(image=image, object__isnull=True, detached_from_object_id=object_id).update(
        object=obj, detached_from_object_id=None
    )
    image_mark_in_progress(image=image, by=author)
    broadcast.object_changed(obj, "restored", author)
    return obj


@transaction.atomic
def objects_relabel(*, source: LabelClass, target: LabelClass) -> int:
    """Move every object of `source` to `target`, each as a new version with a revision.

    Locks `source` (no object takes it meanwhile), keeps `target` from deletion, then locks the images and their
    objects, in the order of `locking`.
    """
    source_locked, target_locked = lock_labels_for_move(source_id=source.pk, target_id=target.pk)
    if source_locked is None or target_locked is None:
        raise Conflict("A label was deleted meanwhile.", code="label_gone")
    moved = 0
    for obj in lock_objects_of_label(source.pk):
        obj.label = target_locked
        obj.version += 1
        obj.save(update_fields=["label", "version", "updated_at"])
        _record(obj, RevisionAction.UPDATE, None)
        moved += 1
    return moved


@transaction.atomic
def comment_create(
    *,
    image: Image,
    author: AbstractBaseUser,
    text: str,
    object_id: int | None = None,
    x: float | None = None,
    y: float | None = None,
) -> Comment:
    if not text or not text.strip():
        raise InvalidInput("A comment needs text.", code="empty_comment")
    text = checked_text(text.strip(), field="comment", max_length=COMMENT_MAX_LENGTH)
    obj = None
    if object_id is not None:
        obj = AnnotationObject.objects.filter(pk=object_id, image=image).first()
        if obj is None:
            raise InvalidInput(f"Object {object_id} is not on this image.", code="unknown_object")
    if (x is None) != (y is None):
        raise InvalidInput("Give both x and y, or neither.", code="bad_position")
    if x is not None and not (0 <= x <= image.width and 0 <= y <= image.height):
        raise InvalidInput(f"Position ({x}, {y}) lies outside the image.", code="bad_position")
    comment = Comment.objects.create(image=image, object=obj, author=author, text=text.strip(), x=x, y=y)
    broadcast.comment_added(comment)
    return comment
