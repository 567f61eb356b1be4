"""Admission of a click (backend.interactive.admission): computed now, or `busy` with why and when to retry."""

from backend.interactive.admission import MAX_RETRY_S, MIN_RETRY_S, admit, expected_wait_s
from backend.interactive.liveness import WorkerLiveness


def worker(name: str, *, warm: bool = True, job_s: float = 0.2, error: str = "") -> WorkerLiveness:
    return WorkerLiveness(name, warm, job_s, "cpu", error)


def test_a_click_is_admitted_while_the_queue_drains_within_the_bound() -> None:
    two = [worker("a"), worker("b")]
    assert expected_wait_s(two, 10) == 1.0  # 10 clicks, 2 workers at 0.2 s each
    assert admit(two, 15, max_wait_s=3) is None
    assert admit(two, 0, max_wait_s=0.01) is None  # nothing waits: a worker takes it at once


def test_beyond_the_bound_the_answer_is_overloaded_with_the_time_to_drain() -> None:
    busy = admit([worker("a"), worker("b")], 40, max_wait_s=3)  # 4 s of clicks ahead
    assert busy is not None and busy.reason == "overloaded" and busy.workers == 2 and busy.queued == 40
    assert busy.retry_after_s == 1.0
    message = busy.to_client(7)
    assert message["type"] == "busy" and message["seq"] == 7 and message["retry_after_s"] == 1.0 and message["message"]


def test_the_retry_hint_is_bounded() -> None:
    assert admit([worker("a")], 16, max_wait_s=3).retry_after_s == MIN_RETRY_S  # 3.2 s: just over
    assert admit([worker("a", job_s=5)], 100, max_wait_s=3).retry_after_s == MAX_RETRY_S


def test_faster_workers_serve_more_of_the_queue() -> None:
    gpu_and_cpu = [worker("gpu", job_s=0.02), worker("cpu", job_s=0.2)]
    assert round(expected_wait_s(gpu_and_cpu, 55), 3) == 1.0  # 50 + 5 clicks per second together


def test_without_a_warm_worker_the_answer_says_whether_one_is_coming() -> None:
    assert admit([], 0, max_wait_s=3).reason == "no_workers"
    assert admit([worker("a", warm=False)], 0, max_wait_s=3).reason == "warming_up"
    failed = worker("a", warm=False, error="Model 'x' cannot be loaded: missing")
    assert admit([failed], 0, max_wait_s=3).reason == "no_workers"  # a failed warm-up is not coming
    assert admit([failed, worker("b")], 0, max_wait_s=3) is None  # the others keep serving
