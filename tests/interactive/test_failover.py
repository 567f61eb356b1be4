"""A worker killed in the middle of a click: the click is sent again and answered by the other worker, within the
liveness time-to-live (not the job time-out), and the object carries on from there."""

import time

import pytest

from tests.live_stack import Client, run_stack, token_for
from tests.waiting import wait_until

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(scope="module")
def failover_stack(tmp_path_factory, django_db_setup, django_db_blocker):
    yield from run_stack(tmp_path_factory, team=True, workers=3)  # two are killed


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


def test_a_click_whose_worker_is_killed_is_answered_by_the_other_worker(failover_stack, world, photo) -> None:
    conn = Client(failover_stack, photo.pk, token_for(world.users["annotator"]))
    ready = conn.recv()
    assert ready["inference"]["ready"] and ready["inference"]["workers"] == 3, ready["inference"]
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

    answer = conn.answer(2, timeout=30)
    assert answer["type"] == "mask", answer
    assert not answer["worker"].endswith(f":{victim.popen.pid}"), f"{victim.name} answered before it was killed"
    assert answer["clicks"] == 2
    # Noticed by liveness (the victim said it took the click) or by the take deadline (it died before saying so),
    # not by the time-out.
    timeout = float(failover_stack.env["INFERENCE_TIMEOUT_S"])
    assert time.time() - killed_at < timeout
    assert "sending it again" in failover_stack.processes[0].output()

    clicks.append({"x": 300, "y": 150, "positive": True})
    conn.send(type="clicks", seq=3, clicks=clicks)
    third = conn.until("mask", seq=3, timeout=60)
    assert not third["worker"].endswith(f":{victim.popen.pid}") and third["clicks"] == 3
    assert not third["rebuilt"] and third["steps"] == 1  # click 3 on top of click 2's state, kept by the survivor
    conn.close()


def large_photo() -> bytes:
    """A 4000 × 4000 JPEG: its first click reads and decodes it, a window of a second or so to kill its worker in."""
    import io

    import numpy as np
    from PIL import Image as PILImage

    rng = np.random.default_rng(17)
    y, x = np.mgrid[0:4000, 0:4000]
    pixels = np.stack([x % 256, y % 256, (x + y) % 256], axis=-1) + rng.integers(0, 40, (4000, 4000, 3))
    out = io.BytesIO()
    PILImage.fromarray(pixels.clip(0, 255).astype(np.uint8)).save(out, "JPEG", quality=95)
    return out.getvalue()


def test_a_worker_killed_during_the_forward_is_noticed_by_its_liveness(failover_stack, media_root, world) -> None:
    """Killed after it said it took the click (its log says so before it reads the image): the consumer sees its
    alive key expire and sends the click again."""
    from tests.conftest import upload_to_batch

    image = upload_to_batch(world, "large.jpg", large_photo())
    conn = Client(failover_stack, image.pk, token_for(world.users["annotator"]))
    conn.recv()
    conn.send(type="start", label=world.label.pk)
    clicks = [{"x": 2000, "y": 2000, "positive": True}]
    alive = [w for w in failover_stack.workers if w.popen.poll() is None]
    before = {w.name: w.output().count(" taken") for w in alive}
    conn.send(type="clicks", seq=1, clicks=clicks)
    taker = wait_until(
        lambda: next((w for w in alive if w.output().count(" taken") > before[w.name]), None),
        timeout=30,
        every=0.005,
        what="a worker to take the click",
        details=lambda: "\n".join(w.tail() for w in alive),
    )
    taker.kill()
    answer = conn.answer(1, timeout=30)
    assert answer["type"] == "mask" and not answer["worker"].endswith(f":{taker.popen.pid}"), answer
    assert "is gone; sending it again" in failover_stack.processes[0].output()
    conn.close()
