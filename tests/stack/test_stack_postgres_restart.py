"""PostgreSQL restarted while annotators save: a save that failed stays journaled and is retried with the same
client_key; no edit the server acknowledged is lost and none is stored twice. The web processes keep persistent
database connections (DATABASE_CONN_MAX_AGE), which must not outlive the server they were opened to."""

from tests.stack.stack_clients import Annotator, Team, check_saved_exactly_once, request
from tests.waiting import wait_until

STACK_ENV = {"DATABASE_CONN_MAX_AGE": "60"}


def test_a_save_while_postgres_is_down_lands_once_after_it_is_back(stack, demo) -> None:
    annotator = Annotator(stack, demo.token, demo.images[0], demo.label, name="pgdown")
    annotator.open()
    annotator.finish(annotator.click(annotator.point(0.5, 0.5)))
    assert len(annotator.saved) == 1
    mask = annotator.click(annotator.point(0.5, 0.45))

    stack.kill("postgres")
    key = annotator.finish(mask)  # refused (500): still journaled
    assert key in annotator.journal and key not in annotator.saved
    stack.start("postgres")

    # Once it is back, every request works at once: no daphne answers from a connection to the server that died.
    statuses = [request(stack, "GET", f"/api/images/{demo.images[0]}/objects/", token=demo.token)[0] for _ in range(8)]
    assert statuses == [200] * 8
    # and every websocket: its consumer reads the database from a pool of threads, which keep their connections
    sockets = [
        Annotator(stack, demo.token, image, demo.label, name=f"pgback{i}") for i, image in enumerate(demo.images)
    ]
    for socket in sockets * 2:
        socket.open()
        socket.close()
    assert [s.open_failures for s in sockets] == [0] * len(sockets)
    annotator.flush(timeout=30)
    assert key in annotator.saved and annotator.save_retries == 0
    assert check_saved_exactly_once(stack, [annotator]) == 2
    annotator.close()


def test_saves_across_postgres_restarts_land_exactly_once(stack, demo) -> None:
    annotators = [
        Annotator(stack, demo.token, image, demo.label, name=f"pgloop{i}") for i, image in enumerate(demo.images[1:4])
    ]
    team = Team(annotators, rounds=60, step=0.002, click_timeout=90, flush_timeout=60)
    for restart in ("fast", "kill"):  # pg_ctl restart -m fast, then a crash
        target = team.saves() + 4
        wait_until(lambda t=target: team.saves() >= t or team.failures, timeout=90, what=f"{target} saves")
        if restart == "fast":
            stack.restart("postgres")
        else:
            stack.kill("postgres")
            stack.start("postgres")
    target = team.saves() + 4
    wait_until(lambda: team.saves() >= target or team.failures, timeout=90, what="saves after the restarts")
    team.finish(timeout=120)
    assert check_saved_exactly_once(stack, annotators) >= target
