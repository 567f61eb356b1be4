"""Delete image files and thumbnails that no image references (left by a process killed mid-upload)."""

from django.core.management.base import BaseCommand

from backend.images.orphans import sweep_orphans


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--older-than-minutes",
            type=float,
            default=60,
            help="keep files written more recently than this, which an upload in progress may still commit "
            "(default 60)",
        )
        parser.add_argument("--dry-run", action="store_true", help="list what would be deleted, delete nothing")

    def handle(self, *args, older_than_minutes: float, dry_run: bool, **options) -> None:
        removed = sweep_orphans(older_than_s=older_than_minutes * 60, dry_run=dry_run)
        for name in removed:
            self.stdout.write(name, style_func=None)
        verb = "would delete" if dry_run else "deleted"
        self.stdout.write(self.style.SUCCESS(f"{verb} {len(removed)} unreferenced media file(s)"))
