"""Delete export jobs (and their archives) finished more than EXPORT_RETENTION_HOURS ago; fail dead ones."""

from django.core.management.base import BaseCommand

from backend.exports.job_services import exports_sweep


class Command(BaseCommand):
    help = __doc__

    def handle(self, *args, **options) -> None:
        deleted = exports_sweep()
        self.stdout.write(self.style.SUCCESS(f"deleted {deleted} expired export(s)"))
