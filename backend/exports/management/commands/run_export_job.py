"""Run one queued export job in this process (what the server starts per job in the embedded default)."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from backend.exports.child_process import lower_priority
from backend.exports.jobs import run_export


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("job_id", type=int, help="the ExportJob's id; it must be queued")

    def handle(self, *args, job_id: int, **options) -> None:
        lower_priority(settings.EXPORT_NICENESS)
        run_export(job_id)
