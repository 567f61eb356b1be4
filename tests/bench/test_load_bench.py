"""bench/load.py's driver: briefly against a live team stack, and its answer to `busy` against a scripted socket."""

import random
from concurrent.futures import ThreadPoolExecutor

import pytest

from bench import load
from tests.live_stack import run_stack
from tests.own_loop import run_in_own_loop

KEYS = {"click_p50_s", "click_p95_s", "save_p95_s", "busy", "errors", "lost", "web_rss_mb", "worker_rss_mb",
        "annotators", "minutes", "clicks", "saves", "cpu"}  # fmt: skip


@pytest.fixture(scope="module")
def load_stack(tmp_path_factory, django_db_setup, django_db_blocker):
    yield from run_stack(tmp_path_factory, team=True, workers=1)


@pytest.mark.django_db(transaction=True)
def test_two_annotators_and_a_reviewer_for_a_few_seconds_lose_nothing(load_stack) -> None:
    team = load.setup_team(load_stack.url, prefix="loadtest", annotators=2, reviewers=1, images_per_annotator=2,
                           batch_size=1)  # fmt: skip
    web = [p.popen.pid for p in load_stack.processes if p not in load_stack.workers]
    pids = load.Pids(web, [w.popen.pid for w in load_stack.workers])
    options = load.Options(think_s=(0.2, 0.5), max_clicks=3)

    result = in_a_thread(lambda: load.run(team, reviewers=1, seconds=8, options=options, seed=0, pids=pids))

    assert result.keys() >= KEYS, result
    assert result["errors"] == 0, result["error_kinds"]
    assert result["lost"] == 0, result
    assert result["clicks"] >= 2 and result["saves"] >= 1, result
    assert result["masks"] == result["clicks"], result
    assert 0 < result["click_p50_s"] <= result["click_p95_s"], result
    for key in ("web_rss_mb", "worker_rss_mb"):
        assert result[key]["start"] > 0 and result[key]["end"] > 0, result
    assert load.count_lost([(next(iter(team.truth)), "never-saved")]) == 1  # the check does find a lost save


def in_a_thread(function):
    """``function()`` in a thread of its own: the driver runs its own event loop (asyncio.run), which a thread
    where Playwright's sync API left one running (browser tests before this one) would refuse."""
    from django.db import connections

    def closing():
        try:
            return function()
        finally:
            connections.close_all()  # this thread's own connections (the lost check reads the database)

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(closing).result()


class ScriptedSocket:
    """Answers the sequenced messages from a script: what the annotator sent is kept."""

    def __init__(self, replies: list[dict]) -> None:
        self.replies, self.sent = replies, []

    async def ask(self, message: dict, timeout: float) -> dict:
        self.sent.append(message)
        return {**self.replies.pop(0), "seq": message["seq"]}


def test_a_busy_click_is_waited_out_and_sent_again_with_a_new_seq() -> None:
    person = load.Person("a", 1, "token")
    team = load.Team("http://127.0.0.1:1", 1, [1], person, [person], [])
    figures = load.Figures()
    annotator = load.Annotator(0, team, None, figures, load.Options(), seed=0)
    annotator.rng = random.Random(0)
    mask = {"type": "mask", "polygons": [], "latency": {"forward_s": 0.1, "queue_s": 0.0}, "engine": "e"}
    busy = {"type": "busy", "reason": "overloaded", "retry_after_s": 0.05, "message": "Busy"}
    socket = ScriptedSocket([busy, busy, {"type": "superseded"}, mask])
    clicks = [{"x": 3, "y": 4, "positive": True}]

    got_socket, reply = run_in_own_loop(lambda: annotator.click(socket, 1, 1, clicks))

    assert got_socket is socket and reply["type"] == "mask"
    assert [m["seq"] for m in socket.sent] == [1, 2, 3, 4]
    assert all(m["type"] == "clicks" and m["clicks"] == clicks for m in socket.sent)
    assert figures.busy == {"overloaded": 2} and figures.superseded == 1
    assert not figures.errors and figures.clicks == 1 and len(figures.click_s) == 1
    assert figures.click_s[0] >= 0.05 + 0.075  # the hint, then 1.5× longer: part of what the annotator waited
