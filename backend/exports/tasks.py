"""How an export job runs: a Celery task on the ``default`` queue (team mode) or a background thread of this
process (embedded default), one export at a time per process (see ``backend.common.background``)."""

from celery import shared_task

from backend.common.background import Background

EXPORTS_QUEUE = "default"


@shared_task(name="exports.run_export_job", acks_late=False, ignore_result=True)
def run_export_job(job_id: int) -> None:
    from backend.exports.jobs import run_export

    run_export(job_id)


export_jobs = Background(run_export_job, queue=EXPORTS_QUEUE, setting="EXPORTS_BACKEND")


def dispatch(job_id: int) -> None:
    """Queue job ``job_id`` (call after the transaction that created it has committed)."""
    export_jobs.submit(job_id)
