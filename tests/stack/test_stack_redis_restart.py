"""Redis restarted (killed, started again empty): clicks resume — the click state, lost with Redis, is rebuilt from
the clicks — and saves keep working, each exactly once."""

from tests.stack.stack_clients import Annotator, check_saved_exactly_once


def test_clicks_resume_and_saves_work_after_redis_restarts(stack, demo) -> None:
    annotator = Annotator(stack, demo.token, demo.images[0], demo.label, name="redis0")
    annotator.open()
    annotator.click(annotator.point(0.5, 0.5))
    before = annotator.click(annotator.point(0.15, 0.15, positive=False))
    saved_before = annotator.finish(before)
    first = annotator.click(annotator.point(0.5, 0.5))  # an object under way across the restart
    redone = annotator.click(annotator.point(0.15, 0.15, positive=False))
    assert abs(redone["area"] - before["area"]) <= 0.01 * before["area"]  # the same clicks, the same mask

    stack.kill("redis")
    stack.start("redis")

    third = annotator.click(annotator.point(0.6, 0.4), timeout=90)
    assert third["clicks"] == 3
    # The socket survived (the state was rebuilt, or its worker still held it) or it was reopened (a new object
    # session, started with the three clicks): either way three clicks' mask, without the client repeating any.
    assert third["rebuilt"] or annotator.reconnects or third["worker"] in {first["worker"], redone["worker"]}
    # the reply of a mask computed just after the restart is not lost with a dead Redis connection
    assert not [e for e in annotator.errors if e["code"] == "worker_timeout"], annotator.errors
    saved_after = annotator.finish(third)
    annotator.flush(timeout=60)

    # someone opening an image now gets masks and saves too
    newcomer = Annotator(stack, demo.token, demo.images[1], demo.label, name="redis1")
    newcomer.open()
    newcomer.click(newcomer.point(0.5, 0.5), timeout=60)
    newcomer.finish(newcomer.masks[-1])
    newcomer.flush(timeout=60)

    assert {saved_before, saved_after} <= annotator.saved.keys()
    assert check_saved_exactly_once(stack, [annotator, newcomer]) == 3
    annotator.close()
    newcomer.close()
