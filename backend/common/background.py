"""Background work of one kind: a Celery task on its queue (team mode), or one thread of this process (embedded).

Click jobs (``backend.interactive.jobs``) and fine-tuning jobs (``backend.training.tasks``) are dispatched this
way. A Django setting (``INFERENCE_BACKEND``, ``TRAINING_BACKEND``) chooses per kind, read at each submission:
``"celery"`` sends the task to its queue; anything else runs it in this process, in a thread of that kind's own
that takes one job at a time (the model or the training uses every core by itself).
"""

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

from celery import Task
from django.conf import settings
from django.db import close_old_connections

T = TypeVar("T")


class Background:
    """Runs ``task`` on ``queue`` when ``settings.<setting>`` is ``"celery"``, else in this kind's thread."""

    def __init__(self, task: Task, *, queue: str, setting: str) -> None:
        self.task, self.queue, self.setting = task, queue, setting
        self._thread: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()

    @property
    def uses_celery(self) -> bool:
        return getattr(settings, self.setting) == "celery"

    def submit(self, *args: Any) -> Future | None:
        """Queue ``task(*args)``; in this process, the future of its run (None when sent to Celery)."""
        if self.uses_celery:
            self.task.apply_async(args=list(args), queue=self.queue)
            return None
        return self.in_thread(self.task.run, *args)

    def in_thread(self, function: Callable[..., T], *args: Any) -> "Future[T]":
        """``function(*args)`` in this kind's thread, after the work queued before it."""
        with self._lock:
            if self._thread is None:
                self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix=self.queue)
            return self._thread.submit(_closing_connections, function, *args)

    def drain(self) -> None:
        """Wait for everything queued in this process to finish (tests; a shutting-down server)."""
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is not None:
            thread.shutdown(wait=True)


def _closing_connections(function: Callable[..., T], *args: Any) -> T:
    """A thread outside Django's request cycle closes the database connections it opened itself."""
    try:
        return function(*args)
    finally:
        close_old_connections()
