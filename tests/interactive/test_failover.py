"""A worker killed in the middle of a click: the client hears so in bounded time, and the next click works."""

import time

import pytest

from tests.live_stack import Client, run_stack, token_for
from tests.waiting import wait_until

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(scope="module")
def failover_stack(tmp_path_factory, django_db_setup, django_db_blocker):
    yield from run_stack(tmp_path_factory, team=True, workers=2)


def received(worker) -> int:
    return worker.output().count("] received")


def running(worker) -> int:
    """Jobs the worker has received and not finished, from its log."""
    return received(worker) - worker.output().count("] succeeded in")


def wait_until_idle(workers, timeout: float = 30) -> None:
    """A job's reply is sent before its state is persisted: wait for that tail too."""
    wait_until(
        lambda: not any(running(w) for w in workers),
        timeout=timeout,
        what="the workers to finish their jobs",
        details=lambda: "\n".join(w.tail() for w in workers),
    )


def test_each_inference_worker_loads_the_default_model_once_before_it_is_ready(failover_stack) -> None:
    for worker in failover_stack.workers:
        startup = worker.output().split(" ready.")[0]
        assert startup.count("default model hrnet18-ocr64-cocolvis loaded (") == 1, worker.tail()
        assert "default model not loaded" not in startup, worker.tail()


def test_killed_worker_gives_an_error_and_the_next_click_works_elsewhere(failover_stack, world, photo) -> None:
    timeout = float(failover_stack.env["INFERENCE_TIMEOUT_S"])
    conn = Client(failover_stack, photo.pk, token_for(world.users["annotator"]))
    conn.recv()
    conn.send(type="start", label=world.label.pk)
    clicks = [{"x": 250, "y": 200, "positive": True}]
    conn.send(type="clicks", seq=1, clicks=clicks)
    conn.until("mask", seq=1)
    wait_until_idle(failover_stack.workers)
    before = {w.name: received(w) for w in failover_stack.workers}

    clicks.append({"x": 60, "y": 330, "positive": False})
    conn.send(type="clicks", seq=2, clicks=clicks)
    busy = wait_until(
        lambda: [w for w in failover_stack.workers if received(w) > before[w.name]],
        timeout=30,
        every=0.005,  # the click's whole forward pass is the window for killing the worker in the middle of it
        what="a worker to pick up click 2",
        details=lambda: "\n".join(w.tail() for w in failover_stack.workers),
    )
    victim = busy[0]
    victim.kill()
    killed_at = time.time()

    answer = conn.answer(2, timeout=timeout + 10)
    assert answer["type"] != "mask", f"{victim.name} answered click 2 before it was killed:\n{victim.tail()}"
    assert answer["type"] == "error" and answer["code"] == "worker_timeout", answer
    assert time.time() - killed_at <= timeout + 2

    clicks.append({"x": 300, "y": 150, "positive": True})
    conn.send(type="clicks", seq=3, clicks=clicks)
    third = conn.until("mask", seq=3, timeout=60)
    assert not third["worker"].endswith(f":{victim.popen.pid}") and third["clicks"] == 3
    assert not third["rebuilt"] and third["steps"] == 1  # clicks 2 and 3 together, on top of click 1's state
    conn.close()
