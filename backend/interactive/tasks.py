"""The Celery task of team mode: run one click job on the `inference` queue and publish the reply."""

import logging
import time
from typing import Any

from asgiref.sync import async_to_sync
from celery import shared_task
from celery.signals import worker_process_init
from channels.layers import get_channel_layer
from django.conf import settings

RESULT_MESSAGE_TYPE = "inference.result"
INFERENCE_QUEUE = "inference"


@shared_task(name="interactive.run_click_job", acks_late=False, ignore_result=True)
def run_click_job(job: dict[str, Any]) -> None:
    from backend.interactive.worker import run_job

    if time.time() - job["submitted_at"] > settings.INFERENCE_TIMEOUT_S:
        return  # the client was told this job timed out (its worker died); it has moved on
    reply, persist = run_job(job)
    async_to_sync(get_channel_layer().send)(job["reply_channel"], {"type": RESULT_MESSAGE_TYPE, **reply})
    persist()


@worker_process_init.connect  # in each process that runs tasks: a prefork child, or the solo pool's worker itself
def _preload_default_model(**_: Any) -> None:
    """An inference worker's processes load the default model once, before their first click. Workers of other
    queues (fine-tuning, background jobs) never run a click: they skip it (hundreds of MB, and a compile)."""
    from backend.config.celery import app
    from backend.interactive.caches import engine
    from ml.inference.engines import engine_name

    if INFERENCE_QUEUE not in app.amqp.queues.consume_from:
        return
    log = logging.getLogger(__name__)
    try:
        loaded = engine(settings.DEFAULT_MODEL_NAME)
    except Exception as exc:  # noqa: BLE001 - a worker without weights still starts; jobs report the error
        log.warning("default model not loaded: %s", exc)
        return
    log.info("default model %s loaded (%s engine)", settings.DEFAULT_MODEL_NAME, engine_name(loaded))
