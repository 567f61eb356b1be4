"""The click loop end to end on a live stack (team mode: websocket → Celery worker → real model → websocket; and
the embedded default), and the object saved as the browser saves it: over REST."""

import time

import numpy as np
import pytest
import redis
from pycocotools import mask as coco_mask

from backend.annotations.models import AnnotationObject
from ml.inference.engines import ENGINES
from tests.conftest import World
from tests.http import call
from tests.live_stack import TEST_REDIS_URL, Client, Stack, grabcut_mask, token_for
from tests.waiting import wait_until

pytestmark = pytest.mark.django_db(transaction=True)

LLAMA_CLICK = {"x": 250, "y": 200, "positive": True}  # on the llama's body
BACKGROUND = {"x": 20, "y": 20, "positive": False}


def iou(rle: dict, truth: np.ndarray, ignore: np.ndarray) -> float:
    predicted = coco_mask.decode({"size": rle["size"], "counts": rle["counts"].encode()}).astype(bool)
    keep = ~ignore
    return (predicted & truth & keep).sum() / max(1, ((predicted | truth) & keep).sum())


def assert_engine_reported(stack: Stack, token: str, mask: dict) -> None:
    """The mask names the engine that computed it, and /healthz (signed in) lists the worker with that engine
    for a model and its CPU; anonymous probes learn only that the server is up."""
    assert mask["engine"] in ENGINES and mask["worker"]

    def worker() -> dict | None:
        health = call("GET", f"{stack.url}/healthz", headers={"Authorization": f"Token {token}"}).json()
        return next((w for w in health["inference"]["workers"] if w["worker"] == mask["worker"]), None)

    found = wait_until(worker, timeout=30, what="the worker in /healthz")
    assert mask["engine"] in found["engines"].values() and found["cpu"]["model"]
    assert {"FP32"} <= set(found["cpu"]["capabilities"])
    assert call("GET", f"{stack.url}/healthz").json() == {"ok": True}


def client(stack: Stack, world: World, who: str, image_id: int) -> Client:
    return Client(stack, image_id, token_for(world.users[who]))


@pytest.mark.parametrize(
    ("who", "code", "close_code"), [("outsider", "not_found", 4404), ("anonymous", "unauthenticated", 4401)]
)
def test_only_members_who_see_the_image_may_connect(team_stack, world, photo, who, code, close_code) -> None:
    from websockets.exceptions import ConnectionClosed

    conn = Client(team_stack, photo.pk, None if who == "anonymous" else token_for(world.users[who]))
    assert conn.ws.request is not None
    assert conn.recv()["code"] == code
    with pytest.raises(ConnectionClosed) as closed:
        conn.recv(timeout=5)
    assert closed.value.rcvd.code == close_code


def test_a_reviewer_connects_read_only(team_stack, world, photo) -> None:
    conn = client(team_stack, world, "reviewer", photo.pk)
    ready = conn.recv()
    assert ready["type"] == "ready" and ready["can_edit"] is False
    conn.send(type="start", label=world.label.pk)
    assert conn.recv()["code"] == "forbidden"


def save_over_rest(stack: Stack, token: str, image_id: int, body: dict) -> tuple[int, dict]:
    """What the browser's saver does with a finished object: POST it to the REST API."""
    reply = call("POST", f"{stack.url}/api/images/{image_id}/objects/", json_body=body,
                 headers={"Authorization": f"Token {token}"})  # fmt: skip
    return reply.status, reply.json()


def test_a_click_streams_a_mask_and_the_object_is_saved_over_rest(team_stack, world, photo) -> None:
    token = token_for(world.users["annotator"])
    conn = Client(team_stack, photo.pk, token)
    ready = conn.recv()
    assert ready["type"] == "ready" and ready["image"] == {"id": photo.pk, "width": 513, "height": 371}
    assert ready["options"] == {"threshold": 0.5, "largest_component": True, "tolerance": 1.0}
    conn.send(type="start", label=world.label.pk)
    session = conn.until("started")["session"]
    conn.send(type="clicks", seq=1, clicks=[LLAMA_CLICK])
    mask = conn.until("mask", seq=1)
    truth, ignore = grabcut_mask("llama")
    assert iou(mask["rle"], truth, ignore) > 0.8
    assert mask["polygons"] and mask["area"] > 10000 and "can_undo" not in mask
    assert set(mask["latency"]) >= {"queue_s", "load_s", "forward_s", "post_s", "total_s"}
    assert_engine_reported(team_stack, token, mask)
    state_key = f"edgeflow:click:{session}:state"
    wait_until(lambda: redis.Redis.from_url(TEST_REDIS_URL).exists(state_key), timeout=30, what="the stored state")

    body = {"label": world.label.pk, "polygons": mask["polygons"], "source": "interactive", "clicks_used": 1,
            "seconds_spent": 4.5, "client_key": "tab1-object1"}  # fmt: skip
    status, saved = save_over_rest(team_stack, token, photo.pk, body)
    assert status == 201, saved
    obj = AnnotationObject.objects.get(pk=saved["id"])
    assert obj.source == "interactive" and obj.clicks_used == 1 and obj.version == 1 and obj.label_id == world.label.pk
    assert obj.author == world.users["annotator"] and obj.client_key == "tab1-object1" and obj.area > 10000
    # the same save retried (its answer was lost) returns the first object, not a duplicate
    assert save_over_rest(team_stack, token, photo.pk, body)[1]["id"] == obj.pk
    assert AnnotationObject.objects.filter(image=photo).count() == 1
    conn.send(type="cancel")  # saved: the socket forgets the object's state
    assert conn.until("cancelled")["session"] == session
    assert not redis.Redis.from_url(TEST_REDIS_URL).exists(state_key)
    conn.close()


def test_undo_redo_and_options_need_no_forward_pass(team_stack, world, photo) -> None:
    conn = client(team_stack, world, "annotator", photo.pk)
    conn.recv()
    conn.send(type="start", label=world.label.pk)
    conn.send(type="clicks", seq=1, clicks=[LLAMA_CLICK])
    first = conn.until("mask", seq=1)
    conn.send(type="clicks", seq=2, clicks=[LLAMA_CLICK, BACKGROUND])
    conn.until("mask", seq=2)
    conn.send(type="clicks", seq=3, clicks=[LLAMA_CLICK])
    undone = conn.until("mask", seq=3)
    assert undone["steps"] == 0 and undone["rle"] == first["rle"]
    conn.send(type="clicks", seq=4, clicks=[LLAMA_CLICK, BACKGROUND])
    assert conn.until("mask", seq=4)["steps"] == 0
    conn.send(type="options", seq=5, threshold=0.9, largest_component=False)
    stricter = conn.until("mask", seq=5)
    assert stricter["steps"] == 0 and stricter["area"] <= first["area"]
    conn.send(type="clicks", seq=6, clicks=[])
    empty = conn.until("mask", seq=6)
    assert empty["area"] == 0 and empty["polygons"] == []
    conn.close()


def test_superseded_clicks_are_dropped_not_queued(team_stack, world, photo) -> None:
    conn = client(team_stack, world, "annotator", photo.pk)
    conn.recv()
    conn.send(type="start", label=world.label.pk)
    points = [(250, 200), (260, 210), (240, 190), (270, 220), (230, 180)]
    for seq in range(1, 6):
        conn.send(type="clicks", seq=seq, clicks=[{"x": x, "y": y, "positive": True} for x, y in points[:seq]])
    last = conn.until("mask", seq=5)
    kinds = {r["seq"]: r["type"] for r in conn.replies if r.get("seq")}
    assert kinds[5] == "mask" and set(kinds) == {1, 2, 3, 4, 5}  # each answered: a mask or superseded
    superseded = [seq for seq, kind in kinds.items() if kind == "superseded"]
    assert len(superseded) >= 3  # only the first click and the last one were computed
    assert last["clicks"] == 5 and last["steps"] == 1  # the 4 newer clicks went in together
    conn.close()


def closed_with(conn: Client) -> int:
    from websockets.exceptions import ConnectionClosed

    with pytest.raises(ConnectionClosed) as closed:
        while True:
            conn.recv(timeout=10)
    return closed.value.rcvd.code


def test_a_revoked_token_cannot_start_on_a_socket_opened_before(team_stack, world, photo) -> None:
    from rest_framework.authtoken.models import Token

    conn = client(team_stack, world, "annotator", photo.pk)
    conn.recv()
    conn.send(type="start", label=world.label.pk, clicks=[LLAMA_CLICK], seq=1)
    conn.until("mask", seq=1)
    Token.objects.filter(user=world.users["annotator"]).delete()
    conn.send(type="start", label=world.label.pk)
    assert conn.until("error")["code"] == "unauthenticated"
    assert closed_with(conn) == 4401


def session_socket(stack, world, photo) -> tuple[Client, str]:
    """A socket opened with the annotator's browser session (not a token), past its `ready`, and the session key."""
    from django.test import Client as HttpClient

    browser = HttpClient()
    browser.force_login(world.users["annotator"])
    session_key = browser.cookies["sessionid"].value
    conn = Client(stack, photo.pk, token=None, session_cookie=session_key)
    assert conn.recv()["type"] == "ready"
    return conn, session_key


def test_logging_out_ends_what_a_session_socket_may_do(team_stack, world, photo) -> None:
    from django.contrib.sessions.models import Session

    conn, session_key = session_socket(team_stack, world, photo)
    conn.send(type="start", label=world.label.pk)
    conn.until("started")  # the session is good: the object starts
    Session.objects.filter(session_key=session_key).delete()  # what logging out (or expiry cleanup) does
    conn.send(type="start", label=world.label.pk)
    assert conn.until("error")["code"] == "unauthenticated"
    assert closed_with(conn) == 4401


def test_a_click_after_the_login_ended_is_not_computed(team_stack, world, photo) -> None:
    from django.contrib.sessions.models import Session

    conn, session_key = session_socket(team_stack, world, photo)
    conn.send(type="start", label=world.label.pk)
    conn.until("started")
    conn.send(type="clicks", seq=1, clicks=[LLAMA_CLICK])
    conn.until("mask", seq=1)
    Session.objects.filter(session_key=session_key).delete()
    conn.send(type="clicks", seq=2, clicks=[LLAMA_CLICK, BACKGROUND])
    assert conn.until("error")["code"] == "unauthenticated"
    assert closed_with(conn) == 4401


def test_bad_messages_get_errors_and_the_connection_stays_usable(team_stack, world, photo) -> None:
    conn = client(team_stack, world, "annotator", photo.pk)
    conn.recv()
    conn.send_raw("{not json")
    assert conn.recv()["code"] == "bad_message"
    conn.send(type="clicks", seq=1, clicks=[])
    assert conn.recv()["code"] == "no_object"
    conn.send(type="click", seq=1, x=1, y=1)  # protocol v1
    assert conn.recv()["code"] == "unknown_type"
    conn.send(type="start", label=world.label.pk)
    assert conn.recv()["type"] == "started"
    conn.send(type="clicks", seq=1, clicks=[{"x": 513, "y": 10}])
    assert conn.recv() == {
        "type": "error",
        "code": "click_outside_image",
        "message": "Click (513.0, 10.0) is outside the 513×371 image.",
        "seq": 1,
    }
    conn.send(type="clicks", seq=3, clicks=[LLAMA_CLICK])
    assert conn.until("mask")["seq"] == 3
    conn.send(type="clicks", seq=3, clicks=[])
    assert conn.recv()["code"] == "stale_seq"
    conn.close()


def test_a_flood_of_messages_is_bounded(team_stack, world, photo) -> None:
    rate = int(team_stack.env.get("WS_MAX_MESSAGES_PER_SECOND", 30))
    flood = 1000  # some refused as long as the server reads them faster than 1.07 × rate: however busy it is
    opened = time.monotonic()  # the socket's bucket (2 × rate tokens) starts after this
    conn = client(team_stack, world, "annotator", photo.pk)
    conn.recv()
    for _ in range(flood):
        conn.send(type="ping")
    replies = [conn.recv(timeout=10) for _ in range(flood)]  # every message is answered, pong or refusal
    elapsed = time.monotonic() - opened
    limited = [r for r in replies if r.get("code") == "rate_limited"]
    pongs = [r for r in replies if r["type"] == "pong"]
    assert limited and len(limited) + len(pongs) == flood
    assert 2 * rate <= len(pongs) <= 2 * rate + rate * elapsed, (len(pongs), elapsed)
    conn.close()


def test_a_4000x3000_photo_gets_masks_under_100_kb(team_stack, world, media_root) -> None:
    import io

    from PIL import Image as PILImage

    from backend.images.models import Image
    from backend.images.services import images_upload
    from tests.conftest import upload
    from tests.live_stack import GRABCUT

    big = PILImage.open(GRABCUT / "images" / "llama.bmp").convert("RGB").resize((4000, 3000))
    buffer = io.BytesIO()
    big.save(buffer, format="JPEG", quality=90)
    image = images_upload(
        project=world.project, files=[upload("big.jpg", buffer.getvalue())], uploaded_by=world.users["manager"]
    ).created[0]
    Image.objects.filter(pk=image.pk).update(batch=world.batch)
    conn = client(team_stack, world, "annotator", image.pk)
    conn.recv()
    conn.send(type="start", label=world.label.pk)
    conn.send(type="clicks", seq=1, clicks=[{"x": 1950, "y": 1620, "positive": True}])
    mask = conn.until("mask", seq=1)
    assert mask["area"] > 1_000_000
    assert conn.sizes[-1] < 100_000, conn.sizes[-1]
    conn.close()


def test_embedded_mode_computes_clicks_in_the_web_process(embedded_stack, world, photo) -> None:
    token = token_for(world.users["annotator"])
    conn = Client(embedded_stack, photo.pk, token)
    conn.recv()
    conn.send(type="start", label=world.label.pk)
    conn.send(type="clicks", seq=1, clicks=[LLAMA_CLICK])
    mask = conn.until("mask", seq=1)
    truth, ignore = grabcut_mask("llama")
    assert iou(mask["rle"], truth, ignore) > 0.8
    assert_engine_reported(embedded_stack, token, mask)
    conn.send(type="clicks", seq=2, clicks=[])
    assert conn.until("mask", seq=2)["area"] == 0
    conn.send(type="clicks", seq=3, clicks=[LLAMA_CLICK])
    again = conn.until("mask", seq=3)
    assert again["steps"] == 0 and again["rle"] == mask["rle"]
    body = {"label": world.label.pk, "polygons": again["polygons"], "source": "interactive", "clicks_used": 1}
    status, saved = save_over_rest(embedded_stack, token, photo.pk, body)
    assert status == 201 and saved["source"] == "interactive" and saved["area"] > 10000
    conn.send(type="cancel")
    assert conn.until("cancelled")["type"] == "cancelled"
    conn.close()
