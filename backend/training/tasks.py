"""How a fine-tuning job runs: a Celery task on the ``training`` queue (team mode) or a background thread
of this process (embedded default), one job at a time (see ``backend.common.background``)."""

import logging
from typing import Any

from celery import shared_task
from celery.signals import worker_ready

from backend.common.background import Background
from ml.paths import models_dir
from ml.weights.registry import registered_names

TRAINING_QUEUE = "training"
log = logging.getLogger(__name__)


@shared_task(name="training.run_finetune_job", acks_late=False, ignore_result=True)
def run_finetune_job(job_id: int) -> None:
    from backend.training.runner import run_finetune

    run_finetune(job_id)


finetune_jobs = Background(run_finetune_job, queue=TRAINING_QUEUE, setting="TRAINING_BACKEND")


def dispatch(job_id: int) -> None:
    """Queue job ``job_id`` (call after the transaction that created it has committed)."""
    finetune_jobs.submit(job_id)


@worker_ready.connect
def _report_registry(sender: Any, **_: Any) -> None:
    """A training worker says at start which models it can fine-tune from: its registry must be the web server's
    (the same ``EDGEFLOW_VAR_DIR``, shared storage across machines), else every job fails."""
    if TRAINING_QUEUE not in sender.app.amqp.queues.consume_from:
        return
    names = registered_names()
    if names:
        log.info("training worker: model registry %s holds %s", models_dir(), ", ".join(names))
    else:
        log.warning("training worker: model registry %s holds no models; fine-tuning jobs will fail", models_dir())
