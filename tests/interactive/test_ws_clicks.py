"""The click loop of protocol v2 in this process: Channels' WebsocketCommunicator on the real ASGI app, the
in-process inference backend and the real model (the embedded default's path, without daphne, Redis or Celery).

The client sends its whole click list with every change; undo and redo are click lists the server has seen, so
they cost no forward pass.
"""

import json

import pytest

from backend.interactive import caches
from backend.interactive.jobs import click_jobs
from tests.conftest import World
from tests.interactive.inprocess import Socket, inference_thread_busy
from tests.live_stack import token_for
from tests.own_loop import run_in_own_loop

pytestmark = [pytest.mark.usefixtures("model_loading"), pytest.mark.django_db(transaction=True)]

INSIDE = {"x": 100, "y": 75, "positive": True}  # the disk's centre
OUTSIDE = {"x": 10, "y": 10, "positive": False}  # background
EDGE = {"x": 130, "y": 80, "positive": True}  # inside the disk, near its rim
MASK_KEYS = {
    "type",
    "seq",
    "clicks",
    "steps",
    "rebuilt",
    "rle",
    "mask_box",
    "bbox",
    "area",
    "polygons",
    "latency",
    "worker",
    "engine",
}


def annotator_socket(world: World, image) -> Socket:
    return Socket(image.pk, token_for(world.users["annotator"]))


def test_the_whole_click_list_each_time_undo_and_redo_cost_nothing(world, disk) -> None:
    socket = annotator_socket(world, disk)

    async def scenario() -> dict:
        seen = {"ready": await socket.open()}
        await socket.send(type="start", label=world.label.pk)
        seen["started"] = await socket.until("started")
        lists = [[INSIDE], [INSIDE, OUTSIDE], [INSIDE], [INSIDE, OUTSIDE]]  # click, click, undo, redo
        for seq, clicks in enumerate(lists, start=1):
            await socket.send(type="clicks", seq=seq, clicks=clicks)
            seen[seq] = await socket.answer(seq)
        await socket.send(type="options", seq=5, threshold=0.9, largest_component=False, tolerance=3)
        seen["options"] = await socket.answer(5)
        await socket.send(type="clicks", seq=6, clicks=[])  # reset
        seen["reset"] = await socket.answer(6)
        await socket.send(type="clicks", seq=7, clicks=[INSIDE])  # redo after a reset: still known
        seen["again"] = await socket.answer(7)
        # a new object resumed with its clicks (after a reconnect): rebuilt one click at a time
        await socket.send(type="start", label=world.label.pk, clicks=[INSIDE, OUTSIDE], seq=8)
        seen["resumed_start"] = await socket.until("started")
        seen["resumed"] = await socket.answer(8)
        await socket.close()
        return seen

    seen = run_in_own_loop(scenario)
    ready = seen["ready"]
    assert ready["image"] == {"id": disk.pk, "width": 200, "height": 150}
    assert ready["options"] == {"threshold": 0.5, "largest_component": True, "tolerance": 1.0}
    assert ready["model"] in ready["models"]
    assert seen["started"]["label"] == world.label.pk and seen["started"]["model"] == ready["model"]
    first, second, undone, redone = seen[1], seen[2], seen[3], seen[4]
    assert set(first) == MASK_KEYS
    assert set(first["latency"]) == {"queue_s", "load_s", "forward_s", "network_s", "post_s", "total_s"}
    assert 0 < first["latency"]["network_s"] <= first["latency"]["forward_s"]
    assert undone["latency"]["network_s"] == 0  # a known state runs no network
    assert (first["clicks"], first["steps"], first["rebuilt"]) == (1, 1, False)
    assert 4000 < first["area"] < 6000 and first["rle"]["size"] == [150, 200] and first["polygons"]
    assert (second["clicks"], second["steps"]) == (2, 1)
    assert (undone["clicks"], undone["steps"], undone["rle"]) == (1, 0, first["rle"])
    assert (redone["clicks"], redone["steps"], redone["rle"]) == (2, 0, second["rle"])
    options = seen["options"]
    assert options["steps"] == 0 and options["clicks"] == 2 and options["area"] <= second["area"]
    reset = seen["reset"]
    assert (reset["clicks"], reset["steps"], reset["area"], reset["polygons"]) == (0, 0, 0, [])
    assert seen["again"]["steps"] == 0 and seen["again"]["clicks"] == 1
    assert seen["resumed_start"]["session"] != seen["started"]["session"]
    resumed = seen["resumed"]
    assert (resumed["steps"], resumed["rebuilt"], resumed["rle"]) == (2, False, second["rle"])
    click_jobs.in_thread(lambda: None).result()  # what the inference thread was asked before has run
    assert caches.live_sessions.get(seen["started"]["session"]) is None  # the replaced object was forgotten


def test_a_burst_of_clicks_is_computed_once(world, disk) -> None:
    socket = annotator_socket(world, disk)
    lists = [[INSIDE], [INSIDE, OUTSIDE], [INSIDE, OUTSIDE, EDGE], [INSIDE, EDGE], [INSIDE, EDGE, OUTSIDE]]

    async def scenario() -> list[dict]:
        await socket.open()
        await socket.send(type="start", label=world.label.pk)
        await socket.until("started")
        with inference_thread_busy():  # the first job waits while the others arrive
            for seq, clicks in enumerate(lists, start=1):
                await socket.send(type="clicks", seq=seq, clicks=clicks)
            await socket.send(type="ping")
            await socket.until("pong")  # answered after every message sent before it
        await socket.answer(5)
        await socket.close()
        return [r for r in socket.replies if r["type"] in {"mask", "superseded", "pong"}]

    replies = [(r["type"], r.get("seq")) for r in run_in_own_loop(scenario)]
    # 2, 3 and 4 are replaced while waiting; 1 is computed, but answered superseded since 5 is wanted already
    assert replies == [("superseded", 2), ("superseded", 3), ("superseded", 4), ("pong", None),
                       ("superseded", 1), ("mask", 5)]  # fmt: skip
    last = socket.replies[-1]
    assert last["clicks"] == 3 and last["steps"] == 1  # from the state of click 1: two new clicks, one pass


def test_a_job_answered_too_late_is_a_timeout_and_the_next_request_works(world, disk, settings) -> None:
    settings.INFERENCE_TIMEOUT_S = 0.1  # the inference thread is held busy: no answer comes in time
    socket = annotator_socket(world, disk)

    async def scenario() -> tuple[dict, dict]:
        await socket.open()
        await socket.send(type="start", label=world.label.pk)
        await socket.until("started")
        with inference_thread_busy():
            await socket.send(type="clicks", seq=1, clicks=[INSIDE])
            timed_out = await socket.answer(1)
        settings.INFERENCE_TIMEOUT_S = 60  # however slow this machine is now
        await socket.send(type="clicks", seq=2, clicks=[INSIDE, OUTSIDE])
        after = await socket.answer(2)  # the late answer to 1 was dropped, not sent
        await socket.close()
        return timed_out, after

    timed_out, after = run_in_own_loop(scenario)
    assert timed_out["type"] == "error" and timed_out["code"] == "worker_timeout"
    assert after["type"] == "mask" and after["clicks"] == 2 and after["steps"] == 1
    assert [r["seq"] for r in socket.replies if r["type"] in {"mask", "error"}] == [1, 2]


def test_cancel_stale_seq_clicks_outside_and_bad_messages_get_errors_and_the_socket_stays_usable(world, disk) -> None:
    socket = annotator_socket(world, disk)
    inside_edge = {"x": 199.5, "y": 149.5, "positive": True}

    async def scenario() -> list:
        await socket.open()
        steps = [
            {"type": "clicks", "seq": 1, "clicks": [INSIDE]},  # no object yet
            "{not json",
            "[" * 100_000 + "]" * 100_000,  # nested too deep to parse
            ["a list"],
            {"type": "click", "seq": 1, "x": 1, "y": 1},  # protocol v1 is gone
            {"type": "finish"},
            {"type": "start", "label": 999999},
            {"type": "start", "label": world.label.pk, "model": "no-such-model"},
            {"type": "start", "label": world.label.pk, "threshold": 1.5},
            {"type": "start", "label": world.label.pk, "clicks": [INSIDE]},  # clicks without a seq
            {"type": "start", "label": world.label.pk},
            {"type": "clicks", "seq": 1, "clicks": [{"x": 200, "y": 10}]},
            {"type": "clicks", "seq": 1, "clicks": [{"x": 10, "y": -0.5}]},
            {"type": "clicks", "seq": 1, "clicks": [{"x": "a", "y": 10}]},
            {"type": "clicks", "seq": 1, "clicks": [{"x": 1, "y": 1, "positive": "yes"}]},
            {"type": "clicks", "seq": 1, "clicks": {"x": 1, "y": 1}},
            {"type": "clicks", "seq": 1, "clicks": [INSIDE] * 101},
            {"type": "clicks", "seq": 1},
            {"type": "options", "seq": 1, "tolerance": -1},
            {"type": "clicks", "seq": True, "clicks": []},
            {"type": "clicks", "seq": 3, "clicks": [INSIDE, inside_edge]},
            {"type": "clicks", "seq": 3, "clicks": [INSIDE]},
            {"type": "options", "seq": 2},
            {"type": "cancel"},
            {"type": "clicks", "seq": 4, "clicks": [INSIDE]},
            {"type": "cancel"},
            {"type": "ping"},
        ]
        answers = []
        for step in steps:
            await socket.communicator.send_to(text_data=step if isinstance(step, str) else json.dumps(step))
            reply = await socket.recv()
            if reply["type"] == "started":
                session = reply["session"]
            answers.append(reply if reply.get("code") == "click_outside_image" else _short(reply))
        await socket.close()
        return answers, session

    answers, session = run_in_own_loop(scenario)
    assert answers == [
        "error:no_object@1",
        "error:bad_message",
        "error:bad_message",
        "error:bad_message",
        "error:unknown_type@1",
        "error:unknown_type",
        "error:unknown_label",
        "error:unknown_model",
        "error:bad_message",
        "error:bad_message",
        "started",
        {
            "type": "error",
            "code": "click_outside_image",
            "message": "Click (200.0, 10.0) is outside the 200×150 image.",
            "seq": 1,
        },
        {
            "type": "error",
            "code": "click_outside_image",
            "message": "Click (10.0, -0.5) is outside the 200×150 image.",
            "seq": 1,
        },
        "error:bad_message@1",
        "error:bad_message@1",
        "error:bad_message@1",
        "error:bad_message@1",
        "error:bad_message@1",
        "error:bad_message@1",
        "error:bad_message",
        "mask@3",
        "error:stale_seq@3",
        "error:stale_seq@2",
        "cancelled",
        "error:no_object@4",
        "error:no_object",
        "pong",
    ]
    click_jobs.in_thread(lambda: None).result()  # the forget queued by cancel has run
    assert caches.live_sessions.get(session) is None


def _short(reply: dict) -> str:
    """A reply as one word: its type or `error:<code>`, with `@seq` when it answers one."""
    word = f"error:{reply['code']}" if reply["type"] == "error" else reply["type"]
    return f"{word}@{reply['seq']}" if "seq" in reply and reply["type"] != "superseded" else word
