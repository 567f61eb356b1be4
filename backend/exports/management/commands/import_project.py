"""Import annotations from a file (COCO JSON, LabelMe JSON or zip, YOLO-seg zip) into a project's images."""

from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from backend.common.errors import ServiceError
from backend.exports.importing import import_annotations
from backend.exports.readers import READERS
from backend.projects.models import Project


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser) -> None:
        parser.add_argument("project_id", type=int, help="the project's id")
        parser.add_argument("file", type=Path, help="the file to import")
        parser.add_argument("--format", required=True, choices=sorted(READERS), help="the file's format")
        parser.add_argument("--user", help="the username the objects are made by (default: the project's creator)")
        parser.add_argument("--no-create-labels", action="store_true", help="skip categories the project lacks")

    def handle(self, *args, project_id: int, file: Path, format: str, user: str | None, **options) -> None:
        project = Project.objects.filter(pk=project_id).first()
        if project is None:
            raise CommandError(f"No project {project_id}.")
        author = get_user_model().objects.filter(username=user).first() if user else project.created_by
        if author is None:
            raise CommandError(f"No user {user!r}." if user else "The project has no creator: give --user.")
        if not file.is_file():
            raise CommandError(f"No file {file}.")
        annotations = READERS[format](file.read_bytes(), project=project)
        with tqdm(annotations, unit="ann", desc=f"read {format}", disable=options["verbosity"] == 0) as read:
            try:
                report = import_annotations(
                    project=project, author=author, annotations=read, create_labels=not options["no_create_labels"]
                )
            except ServiceError as exc:
                raise CommandError(f"Nothing imported: {exc.message}") from None
        for skipped in report.skipped:
            self.stdout.write(f"skipped {skipped['annotation']}: {skipped['reason']}")
        if report.unmatched_images:
            self.stdout.write(f"no such image: {', '.join(report.unmatched_images)}")
        self.stdout.write(
            self.style.SUCCESS(
                f"created {report.created}, already imported {report.already_imported}, "
                f"labels created {len(report.labels_created)}, skipped {len(report.skipped)}"
            )
        )
