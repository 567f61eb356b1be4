"""kill -9 of an inference worker in the middle of a click: the web process notices (the worker's liveness, or the
take deadline) and sends the click again; the other worker answers it, well within the job time-out, and the
object is saved once. Started again, the worker serves clicks like before."""

import time

from tests.stack.stack_clients import Annotator, check_saved_exactly_once
from tests.waiting import wait_until


def received(unit) -> int:
    return unit.output().count("] received")


def inference_units(stack):
    return [unit for name, unit in stack.units.items() if name.startswith("inference")]


def test_a_click_whose_worker_is_killed_is_answered_by_the_other_worker(stack, demo) -> None:
    annotator = Annotator(stack, demo.token, demo.images[2], demo.label, name="workerkill")
    annotator.open()
    annotator.click(annotator.point(0.5, 0.5))
    workers = inference_units(stack)
    wait_until(
        lambda: all(u.output().count("] received") == u.output().count("] succeeded in") for u in workers),
        timeout=30,
        what="the workers to finish their jobs",
    )
    before = {u.name: received(u) for u in workers}

    seq = annotator.send_click(annotator.point(0.2, 0.2, positive=False))
    taken = wait_until(
        lambda: [u for u in workers if received(u) > before[u.name]],
        timeout=30,
        every=0.005,  # the forward pass is the window for killing the worker in the middle of it
        what="a worker to pick up the click",
        details=lambda: "\n".join(u.tail() for u in workers),
    )
    victim = taken[0]
    victim_pid = victim.pid
    stack.kill(victim.name)
    killed_at = time.monotonic()

    answer = annotator.answer(seq, timeout=30)
    assert answer["type"] == "mask", answer
    assert not answer["worker"].endswith(f":{victim_pid}"), f"{victim.name} answered before it was killed"
    assert answer["clicks"] == 2
    assert time.monotonic() - killed_at < float(stack.env["INFERENCE_TIMEOUT_S"])
    webs = [unit for name, unit in stack.units.items() if name.startswith("web")]
    assert any("sending it again" in unit.output() for unit in webs), "\n".join(u.tail() for u in webs)
    annotator.finish(answer)

    stack.start(victim.name)  # back: it takes clicks again (the queue is shared by both)
    assert wait_until(lambda: stack.ready_status() == 200, timeout=60, what="/readyz 200")
    for index in range(4):
        annotator.finish(annotator.click(annotator.point(0.48 + 0.01 * index, 0.5)))
    annotator.flush(timeout=30)
    assert not annotator.errors, annotator.errors
    assert check_saved_exactly_once(stack, [annotator]) == 5
    annotator.close()
