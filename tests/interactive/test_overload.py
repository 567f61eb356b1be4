"""Overload and warm-up are answers, not time-outs, on a real team stack: with no warm worker a click is answered
`busy` at once and `/readyz` says 503 and why; once a worker is warm the socket hears `model_status` and clicks are
computed; clicks queued beyond INFERENCE_MAX_WAIT_S are answered `busy` with a retry hint, and retrying computes
them."""

import os
import signal
import threading
import time

import pytest
import redis

from tests.http import call
from tests.live_stack import TEST_REDIS_URL, Client, run_stack, token_for
from tests.waiting import wait_until

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(scope="module")
def cold_stack(tmp_path_factory, django_db_setup, django_db_blocker):
    # No worker at first (the tests start one). A bound this small refuses any click that would wait in the queue.
    yield from run_stack(tmp_path_factory, team=True, workers=0, extra_env={"INFERENCE_MAX_WAIT_S": "0.01"})


def readyz(stack, token: str | None = None):
    headers = {"Authorization": f"Token {token}"} if token else {}
    return call("GET", f"{stack.url}/readyz", headers=headers)


def test_without_a_warm_worker_clicks_are_answered_busy_at_once_and_readyz_says_why(cold_stack, world, photo) -> None:
    token = token_for(world.users["manager"])
    anonymous = readyz(cold_stack)
    assert anonymous.status == 503
    assert anonymous.json()["checks"] == {"database": True, "redis": True, "inference": False}
    assert "reasons" not in anonymous.json()  # the reasons name hosts and errors: signed-in users only
    signed_in = readyz(cold_stack, token).json()
    assert signed_in["warm_workers"] == 0 and "No inference worker" in signed_in["reasons"][0]

    conn = Client(cold_stack, photo.pk, token_for(world.users["annotator"]))
    ready = conn.recv()
    assert ready["inference"]["ready"] is False and ready["inference"]["reason"] == "no_workers"
    conn.send(type="start", label=world.label.pk)
    sent = time.monotonic()
    conn.send(type="clicks", seq=1, clicks=[{"x": 250, "y": 200, "positive": True}])
    busy = conn.until("busy", seq=1, timeout=10)
    assert time.monotonic() - sent < 2  # not the 15 s of INFERENCE_TIMEOUT_S
    assert busy["reason"] == "no_workers" and busy["retry_after_s"] > 0 and busy["message"]

    # A worker starts: while it loads and warms the model /readyz says "warming up"; then the socket is told.
    starting = threading.Thread(target=cold_stack.start_worker, args=("worker1",))
    starting.start()
    wait_until(
        lambda: "warming up" in " ".join(readyz(cold_stack, token).json().get("reasons", [])),
        timeout=120,
        every=0.02,
        what="/readyz to report a worker warming up",
    )
    status = conn.until("model_status", timeout=120)
    assert status["ready"] is True and status["workers"] == 1
    starting.join(120)
    assert readyz(cold_stack).status == 200 and readyz(cold_stack).json()["ready"] is True
    [worker] = readyz(cold_stack, token).json()["workers"]  # signed in: each worker, warm, on which device
    assert worker["warm"] and worker["device"] == "cpu" and worker["job_s"] > 0 and not worker["error"], worker
    conn.send(type="clicks", seq=2, clicks=[{"x": 250, "y": 200, "positive": True}])
    assert conn.until("mask", seq=2, timeout=60)["clicks"] == 1
    conn.close()


def test_clicks_beyond_the_queue_bound_are_answered_busy_and_computed_when_retried(cold_stack, world, photo) -> None:
    """One worker, paused (SIGSTOP) while it runs the first click, so that the queue is exactly as deep as the test
    makes it: the second click waits in the queue, and every later one is answered `busy` `overloaded` at once."""
    wait_until(lambda: readyz(cold_stack).status == 200, timeout=120, what="a warm worker")
    [worker] = cold_stack.workers
    queue = redis.Redis.from_url(TEST_REDIS_URL)
    token = token_for(world.users["annotator"])
    clients = [Client(cold_stack, photo.pk, token) for _ in range(5)]
    for conn in clients:
        conn.recv()
        conn.send(type="start", label=world.label.pk)
        conn.until("started")
    clicks = [{"x": 250, "y": 200, "positive": True}]
    taken = worker.output().count(" taken")
    clients[0].send(type="clicks", seq=1, clicks=clicks)
    worker.wait_for_log(" taken", count=taken + 1)
    os.kill(worker.popen.pid, signal.SIGSTOP)  # busy with click 1 for as long as the test wants (< its alive TTL)
    try:
        clients[1].send(type="clicks", seq=1, clicks=clicks)
        wait_until(lambda: queue.llen("inference") == 1, timeout=10, every=0.01, what="click 2 in the queue")
        for conn in clients[2:]:
            conn.send(type="clicks", seq=1, clicks=clicks)
            busy = conn.answer_or_busy(1, timeout=3)
            assert busy["type"] == "busy" and busy["reason"] == "overloaded", busy
            assert busy["queued"] == 1 and busy["workers"] == 1 and 0.5 <= busy["retry_after_s"] <= 10, busy
    finally:
        os.kill(worker.popen.pid, signal.SIGCONT)
    for conn in clients[:2]:
        assert conn.answer_or_busy(1, timeout=60)["type"] == "mask"

    # Each refused client retries after its hint (as the workspace does): every click is computed in the end.
    for conn in clients[2:]:
        seq, answer = 1, {"type": "busy", "retry_after_s": 0.5}
        while answer["type"] == "busy":
            time.sleep(answer["retry_after_s"])
            seq += 1
            conn.send(type="clicks", seq=seq, clicks=clicks)
            answer = conn.answer_or_busy(seq, timeout=60)
        assert answer["type"] == "mask" and answer["clicks"] == 1, answer
    for conn in clients:
        conn.close()
