from django.conf import settings
from django.db import models

from backend.images.models import Image
from backend.projects.models import LabelClass


class ObjectSource(models.TextChoices):
    INTERACTIVE = "interactive", "Interactive (clicks)"
    MANUAL = "manual", "Manual"
    IMPORTED = "imported", "Imported"


class AnnotationObject(models.Model):
    """One labelled object on an image; `version` grows by one on every change (optimistic locking).

    `author` is who created it and never changes; `last_editor` who changed it last (the revisions say who made
    each change). `number` names it on its image (from 1, never reused: `Image.next_object_number`).
    """

    image = models.ForeignKey(Image, on_delete=models.CASCADE, related_name="annotation_objects")
    number = models.PositiveIntegerField(help_text="The object's number on its image, from 1; kept for good.")
    label = models.ForeignKey(LabelClass, on_delete=models.PROTECT, related_name="annotation_objects")
    slice = models.PositiveIntegerField(default=0, help_text="The slice of a stack the object lies on (0 for 2-D).")
    mask_rle = models.JSONField(help_text="COCO RLE: {size: [h, w], counts: str}")
    polygons = models.JSONField(help_text="[{outer: [[x, y], ...], holes: [[[x, y], ...], ...]}, ...]")
    bbox = models.JSONField(help_text="[x, y, width, height]")
    area = models.PositiveBigIntegerField()
    coco = models.TextField(
        blank=True,
        default="",
        help_text="The mask as COCO exports write it: JSON {segmentation, area, bbox} (backend.exports.coco_geometry), "
        "derived when the mask is written; empty until derived.",
    )
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    last_editor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    source = models.CharField(max_length=20, choices=ObjectSource.choices, default=ObjectSource.MANUAL)
    clicks = models.JSONField(
        default=list, blank=True, help_text="[{x, y, positive}, ...]: the clicks the shape was computed from."
    )
    clicks_used = models.PositiveIntegerField(default=0)
    seconds_spent = models.FloatField(default=0.0)
    version = models.PositiveIntegerField(default=1)
    client_key = models.CharField(
        max_length=64, null=True, blank=True, help_text="The creating client's id for it: a retried create is a no-op."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["image", "client_key"],
                condition=models.Q(client_key__isnull=False),
                name="unique_client_key_per_image",
            ),
            models.UniqueConstraint(fields=["image", "number"], name="unique_object_number_per_image"),
        ]


class RevisionAction(models.TextChoices):
    CREATE = "create", "Create"
    UPDATE = "update", "Update"
    DELETE = "delete", "Delete"
    RESTORE = "restore", "Restore"


class AnnotationRevision(models.Model):
    """Append-only history: one row per change of an object, kept after the object is deleted."""

    object_id = models.BigIntegerField(db_index=True)
    image = models.ForeignKey(Image, on_delete=models.CASCADE, related_name="revisions")
    version = models.PositiveIntegerField()
    action = models.CharField(max_length=10, choices=RevisionAction.choices)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    snapshot = models.JSONField()

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["object_id", "version"], name="unique_revision_version")]


class Comment(models.Model):
    image = models.ForeignKey(Image, on_delete=models.CASCADE, related_name="comments")
    object = models.ForeignKey(
        AnnotationObject, null=True, blank=True, on_delete=models.SET_NULL, related_name="comments"
    )
    # The id of the object this comment was on while that object is deleted; a restore re-attaches the comment.
    detached_from_object_id = models.BigIntegerField(null=True, blank=True)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    text = models.TextField()
    x = models.FloatField(null=True, blank=True)
    y = models.FloatField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
