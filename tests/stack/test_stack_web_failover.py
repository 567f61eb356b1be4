"""kill -9 of a daphne with open sockets: its clients reconnect through the proxy to the other daphne and carry on,
and the edits they had journaled land, each exactly once."""

from tests.stack.stack_clients import Annotator, Team, check_saved_exactly_once
from tests.waiting import wait_until


def open_sockets(unit) -> int:
    """Websockets a daphne holds now, from its access log (since its last start)."""
    log = unit.output()
    return log.count('"WSCONNECT /') - log.count('"WSDISCONNECT /')


def webs(stack):
    return [unit for name, unit in stack.units.items() if name.startswith("web")]


def test_clients_of_a_killed_daphne_reconnect_and_their_journaled_edits_land(stack, demo) -> None:
    annotators = [
        Annotator(stack, demo.token, image, demo.label, name=f"webkill{i}") for i, image in enumerate(demo.images[:4])
    ]
    for annotator in annotators:
        annotator.open()
        annotator.click(annotator.point(0.5, 0.5))
    wait_until(
        lambda: sum(open_sockets(u) for u in webs(stack)) == len(annotators),
        timeout=10,
        what="the daphnes to log every websocket",
        details=lambda: "\n".join(u.tail() for u in webs(stack)),
    )
    victim = max(webs(stack), key=open_sockets)  # round robin: usually 2 and 2
    on_victim = open_sockets(victim)
    # Each annotator finishes its object and cannot send it yet (as if the answer had not come): it is journaled.
    for annotator in annotators:
        annotator.finish(annotator.masks[-1], send=False)

    stack.kill(victim.name)

    for annotator in annotators:  # the next object, then the journal: through the proxy, to the daphne left
        annotator.click(annotator.point(0.5, 0.55))
        annotator.click(annotator.point(0.1, 0.1, positive=False))
        annotator.finish(annotator.masks[-1])
        annotator.flush(timeout=30)
    assert sum(a.reconnects for a in annotators) == on_victim >= 1
    assert check_saved_exactly_once(stack, annotators) == 2 * len(annotators)
    for annotator in annotators:
        annotator.close()
    stack.start(victim.name)


def test_saves_under_way_while_a_daphne_dies_land_exactly_once(stack, demo) -> None:
    """Annotators click and save in a loop while a daphne is killed: a save whose answer was lost is retried with
    its key, and the server returns the object it already has."""
    annotators = [
        Annotator(stack, demo.token, image, demo.label, name=f"webloop{i}") for i, image in enumerate(demo.images[:3])
    ]
    team = Team(annotators, rounds=40, step=0.003, click_timeout=60, flush_timeout=30)
    wait_until(lambda: team.saves() >= 6 or team.failures, timeout=60, what="6 saves")
    victim = max(webs(stack), key=open_sockets)
    stack.kill(victim.name)
    saved_at_kill = team.saves()
    wait_until(
        lambda: team.saves() >= saved_at_kill + 6 or team.failures, timeout=60, what="6 more saves after the kill"
    )
    team.finish(timeout=90)
    assert check_saved_exactly_once(stack, annotators) >= saved_at_kill + 6
    stack.start(victim.name)
