"""Existing objects: numbers per image from 1 in id order (the image's counter after them), the creator back as
`author` (edits used to overwrite it; the create revision kept it) and `last_editor` from the newest edit.

A migration of its own: its row updates queue PostgreSQL's deferred foreign-key checks, which must be done before
0007 alters the table.
"""

from django.db import migrations

EDITS = ["update", "restore"]


def backfill(apps, schema_editor) -> None:
    AnnotationObject = apps.get_model("annotations", "AnnotationObject")
    AnnotationRevision = apps.get_model("annotations", "AnnotationRevision")
    Image = apps.get_model("images", "Image")
    image_ids = AnnotationObject.objects.order_by("image_id").values_list("image_id", flat=True).distinct()
    for image_id in list(image_ids):
        objects = list(AnnotationObject.objects.filter(image_id=image_id).only("id", "author_id").order_by("id"))
        ids = [obj.pk for obj in objects]
        revisions = AnnotationRevision.objects.filter(object_id__in=ids)
        creators = dict(revisions.filter(action="create").values_list("object_id", "author_id"))
        editors = dict(
            revisions.filter(action__in=EDITS, author__isnull=False)
            .order_by("version")
            .values_list("object_id", "author_id")
        )  # the newest edit of each object comes last and wins
        for number, obj in enumerate(objects, start=1):
            obj.number = number
            obj.author_id = creators.get(obj.pk, obj.author_id)
            obj.last_editor_id = editors.get(obj.pk)
        AnnotationObject.objects.bulk_update(objects, ["number", "author", "last_editor"], batch_size=500)
        Image.objects.filter(pk=image_id).update(next_object_number=len(objects) + 1)


class Migration(migrations.Migration):
    dependencies = [
        ("annotations", "0005_object_number_clicks_last_editor"),
    ]

    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]
