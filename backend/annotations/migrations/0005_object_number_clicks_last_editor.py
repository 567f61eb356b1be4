"""Objects gain `number` (filled in by 0006, then required by 0007), `clicks` and `last_editor`."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("annotations", "0004_comment_detached_from_object"),
        ("images", "0002_image_next_object_number"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="annotationobject",
            name="number",
            field=models.PositiveIntegerField(null=True),
        ),
        migrations.AddField(
            model_name="annotationobject",
            name="clicks",
            field=models.JSONField(
                blank=True, default=list, help_text="[{x, y, positive}, ...]: the clicks the shape was computed from."
            ),
        ),
        migrations.AddField(
            model_name="annotationobject",
            name="last_editor",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
    ]
