from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("annotations", "0006_backfill_object_credit"),
    ]

    operations = [
        migrations.AlterField(
            model_name="annotationobject",
            name="number",
            field=models.PositiveIntegerField(help_text="The object's number on its image, from 1; kept for good."),
        ),
        migrations.AddConstraint(
            model_name="annotationobject",
            constraint=models.UniqueConstraint(fields=("image", "number"), name="unique_object_number_per_image"),
        ),
    ]
