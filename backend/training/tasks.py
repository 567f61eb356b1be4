"""How a fine-tuning job runs: a Celery task on the ``training`` queue (team mode) or a background thread
of this process (embedded default), one job at a time."""

from concurrent.futures import ThreadPoolExecutor

from celery import shared_task
from django.conf import settings
from django.db import close_old_connections

_executor: ThreadPoolExecutor | None = None


@shared_task(name="training.run_finetune_job", acks_late=False, ignore_result=True)
def run_finetune_job(job_id: int) -> None:
    from backend.training.runner import run_finetune

    run_finetune(job_id)


def _run_in_thread(job_id: int) -> None:
    from backend.training.runner import run_finetune

    try:
        run_finetune(job_id)
    finally:
        close_old_connections()


def dispatch(job_id: int) -> None:
    """Queue job ``job_id`` (call after the transaction that created it has committed)."""
    global _executor
    if settings.TRAINING_BACKEND == "celery":
        run_finetune_job.apply_async(args=[job_id], queue="training")
        return
    if _executor is None:
        _executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="finetune")
    _executor.submit(_run_in_thread, job_id)
