"""Overload is an answer: whether a click is computed now or answered ``busy`` with a time to retry.

A click is admitted when the inference processes can start it within ``INFERENCE_MAX_WAIT_S``: the clicks
waiting in the queue, shared among the warm workers, each taking about that worker's recent seconds per click.
Otherwise the client hears ``busy`` at once (with ``retry_after_s``, the time the queue needs to drain to that
bound) instead of waiting up to ``INFERENCE_TIMEOUT_S`` for an answer. With no warm worker it hears
``warming_up`` (a worker is loading the model) or ``no_workers``.
"""

from dataclasses import dataclass

from backend.interactive.liveness import WorkerLiveness

MIN_RETRY_S = 0.5
MAX_RETRY_S = 10.0
WARMING_RETRY_S = 1.0
NO_WORKERS_RETRY_S = 2.0

MESSAGES = {
    "overloaded": "The model is busy with other people's clicks; yours is retried in a moment.",
    "warming_up": "The model is warming up; your click is computed as soon as it is ready.",
    "no_workers": "No inference worker has the model ready; your click is retried until one has.",
}


@dataclass(frozen=True)
class Busy:
    reason: str  # overloaded | warming_up | no_workers
    retry_after_s: float
    queued: int = 0
    workers: int = 0

    @property
    def message(self) -> str:
        return MESSAGES[self.reason]

    def to_client(self, seq: int) -> dict:
        return {
            "type": "busy",
            "seq": seq,
            "reason": self.reason,
            "retry_after_s": round(self.retry_after_s, 2),
            "message": self.message,
            "queued": self.queued,
            "workers": self.workers,
        }


def expected_wait_s(workers: list[WorkerLiveness], queued: int) -> float:
    """Seconds until a click sent now starts, if ``queued`` clicks are ahead of it (warm workers only)."""
    warm = [worker for worker in workers if worker.warm]
    rate = sum(1 / max(worker.job_s, 0.001) for worker in warm)  # clicks per second, all warm workers together
    return queued / rate


def admit(workers: list[WorkerLiveness], queued: int, max_wait_s: float) -> Busy | None:
    """None: compute the click now; else why not and when to try again."""
    warm = [worker for worker in workers if worker.warm]
    if not warm:
        if any(worker.warming for worker in workers):
            return Busy("warming_up", WARMING_RETRY_S, queued, 0)
        return Busy("no_workers", NO_WORKERS_RETRY_S, queued, 0)
    wait = expected_wait_s(warm, queued)
    if wait <= max_wait_s:
        return None
    retry = min(MAX_RETRY_S, max(MIN_RETRY_S, wait - max_wait_s))
    return Busy("overloaded", retry, queued, len(warm))
