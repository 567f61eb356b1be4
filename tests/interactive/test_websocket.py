"""The click loop end to end in team mode: websocket → Celery worker → real model → websocket."""

import time

import numpy as np
import pytest
from pycocotools import mask as coco_mask

from backend.annotations.models import AnnotationObject
from tests.conftest import World
from tests.live_stack import Client, Stack, grabcut_mask, token_for

pytestmark = pytest.mark.django_db(transaction=True)

LLAMA_CLICK = {"x": 250, "y": 200}  # on the llama's body


def iou(rle: dict, truth: np.ndarray, ignore: np.ndarray) -> float:
    predicted = coco_mask.decode({"size": rle["size"], "counts": rle["counts"].encode()}).astype(bool)
    keep = ~ignore
    return (predicted & truth & keep).sum() / max(1, ((predicted | truth) & keep).sum())


def client(stack: Stack, world: World, who: str, image_id: int) -> Client:
    return Client(stack, image_id, token_for(world.users[who]))


@pytest.mark.parametrize(
    ("who", "code", "close_code"),
    [("reviewer", "forbidden", 4403), ("outsider", "not_found", 4404), ("anonymous", "unauthenticated", 4401)],
)
def test_only_editors_may_connect(team_stack, world, photo, who, code, close_code) -> None:
    from websockets.exceptions import ConnectionClosed

    conn = Client(team_stack, photo.pk, None if who == "anonymous" else token_for(world.users[who]))
    assert conn.ws.request is not None
    assert conn.recv()["code"] == code
    with pytest.raises(ConnectionClosed) as closed:
        conn.recv(timeout=5)
    assert closed.value.rcvd.code == close_code


def test_click_streams_a_mask_and_finish_saves_the_object(team_stack, world, photo) -> None:
    conn = client(team_stack, world, "annotator", photo.pk)
    ready = conn.recv()
    assert ready["type"] == "ready" and ready["image"] == {"id": photo.pk, "width": 513, "height": 371}
    conn.send(type="start", label=world.label.pk)
    assert conn.recv()["type"] == "started"
    conn.send(type="click", seq=1, positive=True, **LLAMA_CLICK)
    mask = conn.until("mask", seq=1)
    truth, ignore = grabcut_mask("llama")
    assert iou(mask["rle"], truth, ignore) > 0.8
    assert mask["polygons"] and mask["area"] > 10000 and mask["can_undo"]
    assert set(mask["latency"]) >= {"queue_s", "load_s", "forward_s", "post_s", "total_s"}
    conn.send(type="finish", client_key="tab1-object1")
    saved = conn.until("saved")["object"]
    obj = AnnotationObject.objects.get(pk=saved["id"])
    assert obj.source == "interactive" and obj.clicks_used == 1 and obj.version == 1 and obj.label_id == world.label.pk
    assert obj.author == world.users["annotator"] and obj.client_key == "tab1-object1"
    # the same save retried (its answer was lost) returns the first object, not a duplicate
    conn.send(type="start", label=world.label.pk, clicks=[{**LLAMA_CLICK, "positive": True}], seq=2)
    conn.until("mask", seq=2)
    conn.send(type="finish", client_key="tab1-object1")
    assert conn.until("saved")["object"]["id"] == obj.pk
    assert AnnotationObject.objects.filter(image=photo).count() == 1
    conn.close()


def test_undo_redo_and_options_need_no_forward_pass(team_stack, world, photo) -> None:
    conn = client(team_stack, world, "annotator", photo.pk)
    conn.recv()
    conn.send(type="start", label=world.label.pk)
    conn.send(type="click", seq=1, positive=True, **LLAMA_CLICK)
    first = conn.until("mask", seq=1)
    conn.send(type="click", seq=2, x=20, y=20, positive=False)
    conn.until("mask", seq=2)
    conn.send(type="undo", seq=3)
    undone = conn.until("mask", seq=3)
    assert undone["steps"] == 0 and undone["rle"] == first["rle"] and undone["can_redo"]
    conn.send(type="redo", seq=4)
    assert conn.until("mask", seq=4)["steps"] == 0
    conn.send(type="options", seq=5, threshold=0.9, largest_component=False)
    stricter = conn.until("mask", seq=5)
    assert stricter["steps"] == 0 and stricter["area"] <= first["area"]
    conn.send(type="reset", seq=6)
    empty = conn.until("mask", seq=6)
    assert empty["area"] == 0 and empty["polygons"] == []
    conn.close()


def test_superseded_clicks_are_dropped_not_queued(team_stack, world, photo) -> None:
    conn = client(team_stack, world, "annotator", photo.pk)
    conn.recv()
    conn.send(type="start", label=world.label.pk)
    for seq, (x, y) in enumerate([(250, 200), (260, 210), (240, 190), (270, 220), (230, 180)], start=1):
        conn.send(type="click", seq=seq, x=x, y=y, positive=True)
    last = conn.until("mask", seq=5)
    kinds = {r["seq"]: r["type"] for r in conn.replies if r.get("seq")}
    assert kinds[5] == "mask"
    superseded = [seq for seq, kind in kinds.items() if kind == "superseded"]
    assert len(superseded) >= 3  # only the first click and the last one were computed
    assert last["clicks"] == 5 and last["steps"] == 1  # the 4 newer clicks went in together
    masks = [r for r in conn.replies if r["type"] == "mask"]
    assert all(m["seq"] < last["seq"] for m in masks[:-1])
    conn.close()


def closed_with(conn: Client) -> int:
    from websockets.exceptions import ConnectionClosed

    with pytest.raises(ConnectionClosed) as closed:
        while True:
            conn.recv(timeout=10)
    return closed.value.rcvd.code


def test_a_revoked_token_cannot_save_on_a_socket_opened_before(team_stack, world, photo) -> None:
    from rest_framework.authtoken.models import Token

    conn = client(team_stack, world, "annotator", photo.pk)
    conn.recv()
    conn.send(type="start", label=world.label.pk)
    conn.until("started")
    conn.send(type="click", seq=1, positive=True, **LLAMA_CLICK)
    conn.until("mask", seq=1)
    Token.objects.filter(user=world.users["annotator"]).delete()
    conn.send(type="finish", client_key="after-revocation")
    assert conn.until("error")["code"] == "unauthenticated"
    assert closed_with(conn) == 4401
    assert not AnnotationObject.objects.filter(image=photo).exists()


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
    conn.send(type="click", seq=1, positive=True, **LLAMA_CLICK)
    conn.until("mask", seq=1)
    Session.objects.filter(session_key=session_key).delete()
    conn.send(type="click", seq=2, positive=False, x=LLAMA_CLICK["x"] + 5, y=LLAMA_CLICK["y"])
    assert conn.until("error")["code"] == "unauthenticated"
    assert closed_with(conn) == 4401


def test_bad_messages_get_errors_and_the_connection_stays_usable(team_stack, world, photo) -> None:
    conn = client(team_stack, world, "annotator", photo.pk)
    conn.recv()
    conn.send_raw("{not json")
    assert conn.recv()["code"] == "bad_message"
    conn.send(type="click", seq=1, x=1, y=1)
    assert conn.recv()["code"] == "no_object"
    conn.send(type="launch")
    assert conn.recv()["code"] == "unknown_type"
    conn.send(type="start", label=999999)
    assert conn.recv()["code"] == "unknown_label"
    conn.send(type="start", label=world.label.pk, model="no-such-model")
    assert conn.recv()["code"] == "unknown_model"
    conn.send(type="start", label=world.label.pk)
    assert conn.recv()["type"] == "started"
    conn.send(type="click", seq=1, x=513, y=10)
    assert conn.recv() == {
        "type": "error",
        "code": "click_outside_image",
        "message": "Click (513.0, 10.0) is outside the 513×371 image.",
        "seq": 1,
    }
    conn.send(type="click", seq=2, x="a", y=10)
    assert conn.recv()["code"] == "bad_message"
    conn.send(type="click", seq=3, positive=True, **LLAMA_CLICK)
    assert conn.until("mask")["seq"] == 3
    conn.send(type="click", seq=3, x=5, y=5)
    assert conn.recv()["code"] == "stale_seq"
    conn.send(type="finish", client_key="nul\x00key")  # PostgreSQL could not even store it
    assert conn.until("error")["code"] == "bad_message"
    conn.send(type="finish", client_key="after-a-bad-key")  # the connection is still usable
    assert conn.until("saved")["object"]["clicks_used"] == 1
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


def test_finish_refuses_an_empty_mask_and_conflicts_show_the_current_object(team_stack, world, photo) -> None:
    conn = client(team_stack, world, "annotator", photo.pk)
    conn.recv()
    conn.send(type="start", label=world.label.pk)
    assert conn.recv()["type"] == "started"
    conn.send(type="finish")
    assert conn.recv()["code"] == "nothing_to_save"
    conn.send(type="cancel")
    assert conn.recv()["type"] == "cancelled"
    # re-segmenting an existing object with a stale version: 409-style error with the current state
    obj = AnnotationObject.objects.create(
        image=photo, label=world.label, mask_rle={}, polygons=[], bbox=[0, 0, 1, 1], area=1, version=3
    )
    conn.send(type="start", label=world.label.pk, object=obj.pk, version=2)
    conn.recv()
    conn.send(type="click", seq=1, positive=True, **LLAMA_CLICK)
    conn.until("mask", seq=1)
    conn.send(type="finish")
    error = conn.until("error")
    assert error["code"] == "stale_version" and error["details"]["current"]["version"] == 3
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
    conn.send(type="click", seq=1, x=1950, y=1620, positive=True)
    mask = conn.until("mask", seq=1)
    assert mask["area"] > 1_000_000
    assert conn.sizes[-1] < 100_000, conn.sizes[-1]
    conn.close()


def test_embedded_mode_computes_clicks_in_the_web_process(embedded_stack, world, photo) -> None:
    conn = client(embedded_stack, world, "annotator", photo.pk)
    conn.recv()
    conn.send(type="start", label=world.label.pk)
    conn.send(type="click", seq=1, positive=True, **LLAMA_CLICK)
    mask = conn.until("mask", seq=1)
    truth, ignore = grabcut_mask("llama")
    assert iou(mask["rle"], truth, ignore) > 0.8
    conn.send(type="undo", seq=2)
    assert conn.until("mask", seq=2)["area"] == 0
    conn.send(type="redo", seq=3)
    assert conn.until("mask", seq=3)["steps"] == 0
    conn.send(type="finish")
    assert conn.until("saved")["object"]["source"] == "interactive"
    conn.close()
