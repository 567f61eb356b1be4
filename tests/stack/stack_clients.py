"""Scripted annotators for the fault tests on the multi-process stack (deploy/stack.py), as the browser behaves.

An :class:`Annotator` holds a websocket (clicks → masks) and a journal of unsaved objects, like the browser's
(frontend/src/journal.ts, saver.ts): a finished object is journaled first, then POSTed with its ``client_key``;
it leaves the journal only when the server answered 201 ("saved"). A network error or a 5xx keeps it journaled
and the annotator retries with the same key, so a save whose answer was lost cannot create a second object. A
closed websocket is reopened (through the proxy: to any daphne) and the object under way restarted with its clicks.

The invariant every fault test checks (:func:`check_saved_exactly_once`): each key an annotator was told was
saved is in the database exactly once, and nothing it still journals is missing after its last flush.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus
from websockets.sync.client import connect

from deploy.stack import HOST, Stack

RETRYABLE_STATUS = {500, 502, 503, 504}
# Answers to a click that the browser retries (after a pause); any other error is a bug of the client or server.
RETRIED_ERRORS = {"worker_timeout", "busy", "queue_unavailable", "inference_failed", "model_unavailable"}


class Unavailable(Exception):
    """The server could not be reached or answered a retryable error; the request may be repeated."""


def request(stack: Stack, method: str, path: str, *, token: str | None = None, body: Any = None,
            timeout: float = 30) -> tuple[int, Any]:  # fmt: skip
    """(status, parsed JSON or None) of one request through the proxy; Unavailable on connection errors."""
    headers = {"Content-Type": "application/json"} if body is not None else {}
    if token:
        headers["Authorization"] = f"Token {token}"
    try:
        conn = http.client.HTTPConnection(HOST, stack.port, timeout=timeout)
        conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
        response = conn.getresponse()
        raw = response.read()
        conn.close()
    except (OSError, http.client.HTTPException) as exc:
        raise Unavailable(f"{method} {path}: {exc!r}") from exc
    try:
        data = json.loads(raw) if raw else None
    except ValueError:
        data = raw.decode(errors="replace")[:500]
    return response.status, data


def token_of(stack: Stack, username: str, password: str) -> str:
    status, data = request(stack, "POST", "/api/auth/token/", body={"username": username, "password": password})
    assert status == 200, (status, data)
    return data["token"]


@dataclass
class Demo:
    """The demo project (manage.py load_demo): the annotator's token, its batch's images and a label."""

    token: str
    project: int
    images: list[int]
    label: int


def demo_of(stack: Stack) -> Demo:
    token = token_of(stack, "demo-annotator", "demo-annotator")
    _, projects = request(stack, "GET", "/api/projects/", token=token)
    project = _rows(projects)[0]["id"]
    _, images = request(stack, "GET", f"/api/projects/{project}/images/?page_size=100", token=token)
    batched = [image["id"] for image in _rows(images) if image.get("batch")]
    _, labels = request(stack, "GET", f"/api/projects/{project}/labels/", token=token)
    labels = _rows(labels)
    return Demo(token, project, sorted(batched), labels[0]["id"])


def _rows(page: Any) -> list[dict]:
    """A list answer, paginated or not."""
    return page["results"] if isinstance(page, dict) else page


@dataclass
class Annotator:
    stack: Stack
    token: str
    image: int
    label: int
    name: str = "annotator"
    journal: dict[str, dict] = field(default_factory=dict)  # client_key -> object not yet acknowledged
    saved: dict[str, int] = field(default_factory=dict)  # client_key -> object id the server answered with
    reconnects: int = 0
    open_failures: int = 0  # connection attempts refused or dropped before `ready`
    save_retries: int = 0
    masks: list[dict] = field(default_factory=list)
    errors: list[dict] = field(default_factory=list)  # error replies to clicks (all retried)
    busy: list[dict] = field(default_factory=list)  # `busy` replies (retried after their hint)

    def __post_init__(self) -> None:
        self.ws = None
        self.seq = 0  # the connection's last request (each must be newer than the one before)
        self.started = False  # the object under way was started on this connection
        self.size = (0, 0)
        self.clicks: list[dict] = []

    # ------------------------------------------------------------------ websocket
    def open(self, timeout: float = 30) -> None:
        """Connect (retrying while no daphne accepts) and read `ready`."""
        address = f"{self.stack.ws_url}/ws/images/{self.image}/annotate/?token={self.token}"
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.ws = connect(address, origin=self.stack.url, max_size=8 * 2**20, open_timeout=10).__enter__()
                ready = self._recv(10)
                assert ready["type"] == "ready", ready
                self.size = (ready["image"]["width"], ready["image"]["height"])
                self.seq, self.started = 0, False  # a new connection: the object under way is started anew
                return
            except (OSError, InvalidHandshake, InvalidStatus, ConnectionClosed, TimeoutError) as exc:
                self.open_failures += 1
                if time.monotonic() > deadline:
                    raise AssertionError(f"{self.name} could not reconnect within {timeout} s: {exc!r}") from exc
                time.sleep(0.2)

    def close(self) -> None:
        if self.ws is not None:
            self.ws.close()

    def _recv(self, timeout: float) -> dict:
        return json.loads(self.ws.recv(timeout=timeout))

    def _send(self, **message: Any) -> None:
        self.ws.send(json.dumps(message))

    def point(self, fx: float, fy: float, positive: bool = True) -> dict:
        """A click at a fraction of the image's width and height."""
        width, height = self.size
        return {"x": int(fx * (width - 1)), "y": int(fy * (height - 1)), "positive": positive}

    def click(self, click: dict | None = None, *, timeout: float = 60) -> dict:
        """Add ``click`` (None: ask again for the current clicks) and wait for the mask of all of them. A dropped
        socket is reopened and the object restarted with its clicks; an error reply (a worker gone, busy) is
        retried after a pause, as the browser does."""
        if click is not None:
            self.clicks.append(click)
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.seq += 1
                if not self.started:
                    self._send(type="start", label=self.label, clicks=self.clicks, seq=self.seq)
                    self.started = True
                else:
                    self._send(type="clicks", clicks=self.clicks, seq=self.seq)
                reply = self._answer(self.seq, deadline)
            except (ConnectionClosed, OSError, TimeoutError) as exc:
                if time.monotonic() > deadline:
                    raise AssertionError(f"{self.name}: no mask within {timeout} s ({exc!r})") from exc
                self.reconnects += 1
                self.open(timeout=max(5.0, deadline - time.monotonic()))
                continue
            if reply["type"] == "mask":
                self.masks.append(reply)
                return reply
            if reply["type"] == "busy":  # not computed: send the list again after the hint, as the workspace does
                self.busy.append(reply)
                if time.monotonic() > deadline:
                    raise AssertionError(f"{self.name}: still busy after {timeout} s: {reply}")
                time.sleep(min(2.0, float(reply.get("retry_after_s", 0.5))))
                continue
            self.errors.append(reply)
            if reply["code"] not in RETRIED_ERRORS:
                raise AssertionError(f"{self.name}: {reply}")
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.name}: no mask within {timeout} s; errors {self.errors[-3:]}")
            time.sleep(0.3)

    def send_click(self, click: dict) -> int:
        """Add ``click`` and send the list without waiting (the object is under way on this connection): its seq."""
        assert self.started, "start the object with click() first"
        self.clicks.append(click)
        self.seq += 1
        self._send(type="clicks", clicks=self.clicks, seq=self.seq)
        return self.seq

    def answer(self, seq: int, timeout: float = 60) -> dict:
        """The mask, error or busy reply to request ``seq`` (a mask is kept in ``masks``)."""
        reply = self._answer(seq, time.monotonic() + timeout)
        if reply["type"] == "mask":
            self.masks.append(reply)
        return reply

    def _answer(self, seq: int, deadline: float) -> dict:
        while True:
            reply = self._recv(max(0.1, deadline - time.monotonic()))
            if reply.get("seq") == seq and reply["type"] in ("mask", "error", "busy"):
                return reply
            if reply["type"] == "error" and reply.get("seq") is None and reply.get("code") != "rate_limited":
                raise AssertionError(f"{self.name}: {reply}")

    def new_object(self) -> None:
        """The next object: a new `start` with its first click."""
        self.clicks, self.started = [], False

    # ------------------------------------------------------------------ saving
    def finish(self, mask: dict, *, send: bool = True) -> str:
        """Journal the object of ``mask`` (its polygons and clicks), then (``send``) try to save it once."""
        assert mask["polygons"], f"{self.name}: an empty mask is no object ({self.clicks}); click elsewhere"
        key = f"{self.name}-{uuid.uuid4().hex[:12]}"
        self.journal[key] = {
            "label": self.label,
            "polygons": mask["polygons"],
            "clicks": list(self.clicks),
            "clicks_used": len(self.clicks),
            "client_key": key,
        }
        self.new_object()
        if not send:
            return key
        with contextlib.suppress(Unavailable):  # it stays journaled: flush() sends it again with the same key
            self._save(key)
        return key

    def _save(self, key: str) -> None:
        status, data = request(self.stack, "POST", f"/api/images/{self.image}/objects/", token=self.token,
                               body=self.journal[key])  # fmt: skip
        if status in RETRYABLE_STATUS:
            raise Unavailable(f"{status}: {data}")
        assert status == 201, (status, data)
        assert data["client_key"] == key, data
        self.saved[key] = data["id"]
        del self.journal[key]

    def flush(self, timeout: float = 60) -> None:
        """Send every journaled object (same keys) until the server has them all, backing off between rounds."""
        deadline, backoff = time.monotonic() + timeout, 0.2
        while self.journal:
            for key in list(self.journal):
                try:
                    self._save(key)
                except Unavailable as exc:
                    self.save_retries += 1
                    if time.monotonic() > deadline:
                        message = f"{self.name}: {len(self.journal)} edits unsaved after {timeout} s: {exc}"
                        raise AssertionError(message) from exc
                    time.sleep(backoff)
                    backoff = min(2.0, backoff * 1.5)
                    break


def keys_in_database(stack: Stack, prefix: str = "") -> dict[str, int]:
    """client_key -> rows, read from the stack's PostgreSQL directly."""
    rows = stack.psql(
        "SELECT client_key, count(*) FROM annotations_annotationobject "
        f"WHERE client_key LIKE '{prefix}%' GROUP BY client_key",
        database="edgeflow",
    )
    return {key: int(count) for key, count in (line.split("|") for line in rows.splitlines() if line)}


def check_saved_exactly_once(stack: Stack, annotators: list[Annotator]) -> int:
    """Every key an annotator was told was saved is in the database exactly once, with the id it was told; none is
    still journaled. The number of saved objects."""
    rows = keys_in_database(stack)
    told = {key: obj for a in annotators for key, obj in a.saved.items()}
    assert not [a.journal for a in annotators if a.journal], "edits still journaled"
    missing = sorted(key for key in told if key not in rows)
    doubled = sorted(key for key in told if rows.get(key, 0) > 1)
    assert not missing and not doubled, f"saved but missing: {missing}; saved twice: {doubled}"
    ids = stack.psql(
        "SELECT client_key, id FROM annotations_annotationobject WHERE client_key IS NOT NULL", database="edgeflow"
    )
    by_key = {key: int(obj) for key, obj in (line.split("|") for line in ids.splitlines() if line)}
    assert all(by_key[key] == obj for key, obj in told.items())
    return len(told)


class Team:
    """Annotators each clicking, finishing and saving an object per round, in threads, until :meth:`finish`
    (at least ``min_rounds`` each); what any of them raised is kept in ``failures``."""

    def __init__(self, annotators: list[Annotator], *, rounds: int, step: float, click_timeout: float,
                 flush_timeout: float, min_rounds: int = 4) -> None:  # fmt: skip
        self.annotators, self.failures = annotators, []
        self.stop = threading.Event()
        self.threads = [
            threading.Thread(
                target=self._work, args=(a, rounds, step, click_timeout, flush_timeout, min_rounds), daemon=True
            )  # fmt: skip
            for a in annotators
        ]
        for thread in self.threads:
            thread.start()

    def saves(self) -> int:
        return sum(len(a.saved) for a in self.annotators)

    def _work(self, annotator: Annotator, rounds: int, step: float, click_timeout: float, flush_timeout: float,
              min_rounds: int) -> None:  # fmt: skip
        try:
            annotator.open()
            for round_ in range(rounds):
                if self.stop.is_set() and round_ >= min_rounds:
                    break
                annotator.click(annotator.point(0.45 + step * round_, 0.5), timeout=click_timeout)
                annotator.finish(annotator.masks[-1])
                annotator.flush(timeout=flush_timeout)
        except BaseException as exc:  # noqa: BLE001 - reported by the test thread
            self.failures.append(exc)
        finally:
            annotator.close()

    def finish(self, timeout: float) -> None:
        """Stop after the current rounds; fail with what the annotators raised, or if one is still running."""
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout)
        assert not self.failures, self.failures
        assert not any(thread.is_alive() for thread in self.threads)
