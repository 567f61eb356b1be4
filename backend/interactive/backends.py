"""How a click job reaches a model: a Celery task (team mode) or a thread of this process (embedded)."""

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol

from channels.layers import get_channel_layer
from django.conf import settings

from backend.interactive.tasks import RESULT_MESSAGE_TYPE, run_click_job


class InferenceBackend(Protocol):
    async def submit(self, job: dict[str, Any]) -> None: ...

    async def prepare(self, model: str, image: dict[str, str]) -> None:
        """An image was opened for annotation: get ready for its first click (without waiting for that)."""


class CeleryBackend:
    async def submit(self, job: dict[str, Any]) -> None:
        await asyncio.to_thread(run_click_job.apply_async, args=[job], queue="inference")

    async def prepare(self, model: str, image: dict[str, str]) -> None:
        """Nothing: workers load the default model when they start, and any worker may serve the first click."""


class LocalBackend:
    """One inference thread for the whole process (the model uses every core by itself).

    Opening an image prepares it in a second thread, so that decoding a huge image (or building its working
    copy) never holds up the clicks of others; a click on that image waits for the decode instead of repeating it.
    """

    def __init__(self) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="inference")
        self._preparer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="prepare")

    async def prepare(self, model: str, image: dict[str, str]) -> None:
        from backend.interactive.worker import prepare

        self._preparer.submit(prepare, model=model, image=image)

    async def submit(self, job: dict[str, Any]) -> None:
        asyncio.get_running_loop().create_task(self._run(job))

    async def _run(self, job: dict[str, Any]) -> None:
        from backend.interactive.worker import run_job

        loop = asyncio.get_running_loop()
        reply, persist = await loop.run_in_executor(self._executor, run_job, job)
        await get_channel_layer().send(job["reply_channel"], {"type": RESULT_MESSAGE_TYPE, **reply})
        await loop.run_in_executor(self._executor, persist)


_backend: InferenceBackend | None = None


def inference_backend() -> InferenceBackend:
    global _backend
    if _backend is None:
        _backend = CeleryBackend() if settings.INFERENCE_BACKEND == "celery" else LocalBackend()
    return _backend
