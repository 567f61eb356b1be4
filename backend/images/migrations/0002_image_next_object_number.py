from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("images", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="image",
            name="next_object_number",
            field=models.PositiveIntegerField(
                default=1, help_text="The number the next object created on this image gets (numbers are never reused)."
            ),
        ),
    ]
