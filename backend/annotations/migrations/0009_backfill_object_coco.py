"""Derive ``coco`` for the objects saved before the field existed (exports would otherwise derive it each time)."""

from django.db import migrations

from backend.exports.coco_geometry import coco_text

BATCH = 500


def backfill(apps, schema_editor):
    AnnotationObject = apps.get_model("annotations", "AnnotationObject")
    pending = AnnotationObject.objects.filter(coco="").only("id", "mask_rle").order_by("id")
    batch = []
    for obj in pending.iterator(chunk_size=BATCH):
        obj.coco = coco_text(obj.mask_rle)
        batch.append(obj)
        if len(batch) == BATCH:
            AnnotationObject.objects.bulk_update(batch, ["coco"])
            batch = []
    AnnotationObject.objects.bulk_update(batch, ["coco"])


class Migration(migrations.Migration):
    dependencies = [("annotations", "0008_object_coco_geometry")]

    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]
