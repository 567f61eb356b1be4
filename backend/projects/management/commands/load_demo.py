"""Create the demo project: one user per role, labels, real photographs from scikit-image, two batches."""

import io

from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management.base import BaseCommand
from django.db import transaction
from PIL import Image as PILImage
from skimage import data as skimage_data

from backend.images.services import batches_create, images_upload
from backend.projects.models import Project, Role
from backend.projects.services import label_create, member_add, project_create

DEMO_PROJECT = "Demo project"
DEMO_PHOTOS = ["astronaut", "chelsea", "coffee", "rocket", "immunohistochemistry", "camera", "coins", "page"]
DEMO_BATCH_SIZE = 5
DEMO_LABELS = [("person", "#e6194b"), ("animal", "#3cb44b"), ("object", "#4363d8")]
DEMO_USERS = [
    ("demo-admin", Role.ADMIN),
    ("demo-manager", Role.MANAGER),
    ("demo-annotator", Role.ANNOTATOR),
    ("demo-reviewer", Role.REVIEWER),
]


def _photo_upload(name: str) -> SimpleUploadedFile:
    pixels = getattr(skimage_data, name)()
    buffer = io.BytesIO()
    PILImage.fromarray(pixels).save(buffer, format="JPEG", quality=92)
    return SimpleUploadedFile(f"{name}.jpg", buffer.getvalue(), content_type="image/jpeg")


class Command(BaseCommand):
    help = "Create (or refresh the passwords of) the demo project and its users, and print the logins."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--password", default="", help="Password for every demo user (default: demo-<role>).")

    @transaction.atomic
    def handle(self, *args, password: str, **options) -> None:
        users = {role: self._user(username, password or f"demo-{role.value}") for username, role in DEMO_USERS}
        project = Project.objects.filter(name=DEMO_PROJECT).first()
        if project is None:
            project = self._create_project(users)
        self.stdout.write(self.style.SUCCESS(f"Demo project #{project.pk} ready. Logins (user / password):"))
        for username, role in DEMO_USERS:
            self.stdout.write(f"  {role.value:<10} {username} / {password or f'demo-{role.value}'}")

    def _user(self, username: str, password: str):
        user, _ = get_user_model().objects.get_or_create(username=username)
        user.set_password(password)
        user.save()
        return user

    def _create_project(self, users: dict) -> Project:
        project = project_create(
            name=DEMO_PROJECT,
            description="Photographs bundled with scikit-image, ready to annotate.",
            created_by=users[Role.ADMIN],
        )
        for role in (Role.MANAGER, Role.ANNOTATOR, Role.REVIEWER):
            member_add(project=project, username=users[role].username, role=role)
        for name, colour in DEMO_LABELS:
            label_create(project=project, name=name, color=colour)
        photos = [_photo_upload(name) for name in DEMO_PHOTOS]
        report = images_upload(project=project, files=photos, uploaded_by=users[Role.MANAGER])
        # The first photos go to the annotator; the rest stay unbatched for the manager to split.
        batches_create(
            project=project,
            image_ids=[image.pk for image in report.created[:DEMO_BATCH_SIZE]],
            name="Demo batch",
            assignee_id=users[Role.ANNOTATOR].pk,
            reviewer_id=users[Role.REVIEWER].pk,
        )
        return project
