"""How an export job runs: a Celery task on the ``default`` queue (team mode), or one at a time per server process,
started from its export thread: in a child process (``EXPORTS_BACKEND=process``, the embedded default, see
``backend.exports.child_process``) or in that thread itself (``local``)."""

from celery import shared_task
from django.conf import settings

from backend.common.background import Background

EXPORTS_QUEUE = "default"


@shared_task(name="exports.run_export_job", acks_late=False, ignore_result=True)
def run_export_job(job_id: int) -> None:
    from backend.exports.jobs import run_export

    run_export(job_id)


export_jobs = Background(run_export_job, queue=EXPORTS_QUEUE, setting="EXPORTS_BACKEND")


def dispatch(job_id: int) -> None:
    """Queue job ``job_id`` (call after the transaction that created it has committed)."""
    if settings.EXPORTS_BACKEND == "process":
        from backend.exports.child_process import run_export_in_child

        export_jobs.in_thread(run_export_in_child, job_id)
    else:
        export_jobs.submit(job_id)
