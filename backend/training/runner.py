"""The body of a fine-tuning job: export, train from the project's model, measure, register.

Runs in a Celery worker (``training`` queue) or in a thread of the embedded server. NoC before and after
are measured on the held-out objects with the real click loop (RITM protocol, ``FINETUNE_VAL_MAX_CLICKS``
clicks): "before" is the base model, "after" the fine-tuned network that gets registered.
"""

import logging
import shutil

import torch
from django.conf import settings
from django.utils import timezone

from backend.common.job_status import JobStatus
from backend.training.export import export_project_data
from backend.training.models import FineTuneJob
from backend.training.naming import next_version_name
from ml.data.sources import DatasetSpec
from ml.paths import var_dir
from ml.training.config import PhaseConfig, TrainConfig
from ml.training.trainer import Trainer, register
from ml.weights.registry import registered_names

log = logging.getLogger(__name__)
TRAINING_SHARE = (0.1, 0.9)  # progress spent before and after training (export + NoC before, NoC after)


def _update(job_id: int, **fields) -> None:
    FineTuneJob.objects.filter(pk=job_id).update(**fields)


def finetune_config(job: FineTuneJob, name: str, data, work_dir) -> TrainConfig:
    images = str(data.images_dir)
    return TrainConfig(
        name=name,
        init_from_ritm=None,
        init_model=job.base_model,
        datasets=[DatasetSpec("coco_json", str(data.train_json), images=images)],
        validation_datasets=[DatasetSpec("coco_json", str(data.heldout_json), images=images)],
        phases=[
            PhaseConfig(
                name="finetune",
                iterations=settings.FINETUNE_ITERATIONS,
                lr=settings.FINETUNE_LR,
                lr_mults={"pretrained": 0.1, "added": 1.0, "finenet": 1.0},
            )
        ],
        output_dir=str(work_dir / "run"),
        batch_size=settings.FINETUNE_BATCH_SIZE,
        crop_size=settings.FINETUNE_CROP_SIZE,
        min_object_area=1.0,
        val_max_objects=settings.FINETUNE_MAX_HELDOUT,
        val_max_clicks=settings.FINETUNE_VAL_MAX_CLICKS,
        val_every=10**9,
        checkpoint_every=10**9,
        threads=settings.FINETUNE_THREADS,
        export="last",
    )


def run_finetune(job_id: int) -> None:
    """Run job ``job_id`` to the end; failures are recorded on the job, never raised."""
    job = FineTuneJob.objects.select_related("project").get(pk=job_id)
    if job.status != JobStatus.QUEUED:
        return
    _update(job_id, status=JobStatus.RUNNING, started_at=timezone.now(), stage="exporting accepted objects")
    work_dir = var_dir() / "training" / "finetune" / f"job-{job_id}"
    threads = torch.get_num_threads()
    try:
        data = export_project_data(job.project, work_dir / "data", settings.FINETUNE_HELDOUT_FRACTION)
        name = next_version_name(job.base_model, job.project_id, registered_names())
        config = finetune_config(job, name, data, work_dir)
        _update(
            job_id,
            train_objects=data.train_objects,
            heldout_objects=data.heldout_objects,
            iterations=config.total_iterations,
            progress=TRAINING_SHARE[0] / 2,
            stage="measuring the base model on the held-out objects",
        )

        def on_progress(done: int, total: int) -> None:
            share = TRAINING_SHARE[0] + (TRAINING_SHARE[1] - TRAINING_SHARE[0]) * done / max(total, 1)
            stage = f"training {done}/{total}" if done < total else "measuring the fine-tuned model"
            _update(job_id, progress=share, stage=stage)

        trainer = Trainer(config, on_progress=on_progress, progress_bar=False)
        progress = trainer.run()
        register(trainer.out / f"{name}.pt")
        _update(
            job_id,
            status=JobStatus.SUCCEEDED,
            progress=1.0,
            stage="done",
            noc_before={**(progress.first or {}), "max_clicks": config.val_max_clicks},
            noc_after={**(progress.last or {}), "max_clicks": config.val_max_clicks},
            result_model=name,
            finished_at=timezone.now(),
        )
    except Exception as exc:  # noqa: BLE001 - any failure ends the job with its message
        log.exception("fine-tuning job %s failed", job_id)
        _update(job_id, status=JobStatus.FAILED, error=f"{type(exc).__name__}: {exc}", finished_at=timezone.now())
    finally:
        torch.set_num_threads(threads)
        shutil.rmtree(work_dir, ignore_errors=True)
