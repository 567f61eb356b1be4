"""Export a project's annotations (and image files) to a zip archive, with progress on the terminal."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from backend.common.errors import InvalidInput
from backend.exports.archive import write_archive
from backend.exports.formats import FORMATS, contents_for
from backend.exports.job_services import checked_filters
from backend.images.models import Image
from backend.images.selectors import filter_images
from backend.projects.models import Project


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser) -> None:
        parser.add_argument("project_id", type=int, help="the project's id")
        parser.add_argument("--format", required=True, choices=list(FORMATS), help="the archive's format")
        parser.add_argument("--out", required=True, type=Path, help="the zip file to write (replaced if it exists)")
        parser.add_argument("--no-images", action="store_true", help="leave the image files out")
        parser.add_argument("--status", help="comma-separated image statuses (as in the image list)")
        parser.add_argument("--batch", help="a batch id, or 'none' for images in no batch")
        parser.add_argument("--search", help="part of the file name")

    def handle(self, *args, project_id: int, format: str, out: Path, no_images: bool, **options) -> None:
        project = Project.objects.filter(pk=project_id).first()
        if project is None:
            raise CommandError(f"No project {project_id}.")
        try:
            filters = checked_filters(options)
        except InvalidInput as exc:
            raise CommandError(exc.message) from None
        fmt = FORMATS[format]
        images = filter_images(Image.objects.filter(project=project), **filters)
        with tqdm(unit="img", desc=f"export {format}", disable=options["verbosity"] == 0) as bar:
            last = 0

            def progress(done: int, total: int) -> None:
                nonlocal last
                bar.update(done - last)
                last = 0 if done >= total else done  # the next pass starts from 0

            contents = contents_for(fmt, project=project, images=images, progress=progress)
            bar.total = len(contents.images) * (fmt.passes + (not no_images))
            size = write_archive(contents, fmt, include_images=not no_images, destination=out)
        self.stdout.write(self.style.SUCCESS(f"wrote {out} ({size:,} bytes, {len(contents.images)} images)"))
