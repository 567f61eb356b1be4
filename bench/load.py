"""Load of a team stack: N scripted annotators (and K reviewers) working for M minutes, measured.

    python bench/load.py --annotators 20 --minutes 5 --json OUT [--reviewers 2] [--think-s 1.5-4] [--seed 0]
    python bench/load.py --url http://127.0.0.1:8000 --database-url postgres://… ... (a stack already running)

Without --url it starts the multi-process stack of ``deploy/stack.py`` (``python -m deploy.stack``) and stops it
at the end. With --url it works against a running stack: the team is set up through the Django ORM on that
stack's database (--database-url, default $DATABASE_URL): users ``<--user-prefix>-annotator-<i>`` /
``-reviewer-<k>`` / ``-manager`` with tokens, a project with labels, and the photos of --dataset uploaded over
REST (so they land in the stack's media folder; repeated photos are re-encoded, since a project refuses duplicate
files), in batches of --batch-size assigned to the annotators, reviewed by the reviewers.

The clock starts once ``GET /readyz`` answers 200 (``/healthz`` on stacks without it). Each annotator, like the
browser: lists its batches and the images of the one it works on, opens an image (REST, then the websocket
``/ws/images/<id>/annotate/?token=…``), makes one or two objects, each ``start`` then 2–--max-clicks clicks placed
like the NoC simulator (``ml.evaluation.clicker``: the deepest error of the last mask against the photo's
ground truth) with a think time drawn from --think-s between a mask and the next click, saves it over REST with
a ``client_key`` (a journal: the save is re-sent with the same key until it is acknowledged) and sends
``cancel``; then the next image. After a round through its batch it submits it and moves on when it has another
batch to edit (open, or rejected back to it), else it goes round again. A ``busy`` reply (overload, warm-up, no
workers) is waited out as the workspace does (its ``retry_after_s``, 1.5× longer after each further ``busy``, at
most 10 s, + up to 25 % jitter) and the click list re-sent with a new ``seq`` (given up 30 s after the deadline);
a lost socket is reopened and the object resumed (``start`` with its clicks). Reviewers list their submitted
batches, read each image's objects, accept or reject each image (--reject share) and finish the review;
with nothing to review they browse the project's images and objects. At the deadline everyone finishes the
object under way (saving it) and stops.

Figures (--json): ``click_p50_s`` / ``click_p95_s`` — a click's list sent → its mask received, busy waits
included; ``save_p95_s`` — a save's first request → its acknowledgement, retries included; ``busy`` (replies, by
reason in ``busy_reasons``); ``errors`` — error replies, HTTP 5xx, failed requests, unexpected disconnects and
unexpected refusals (by kind in ``error_kinds``); ``lost`` — acknowledged saves not in the database exactly once
(by image and client_key); ``web_rss_mb`` / ``worker_rss_mb`` — the summed VmRSS
(MiB) of the stack's daphne / inference worker processes: ``start`` (read --warmup-minutes into the run, once
caches are filled), ``end``, ``max``, ``cold`` (as the run begins) and ``growth_pct`` (end against start), with a
sample every 10 s in ``rss_samples``; the processes come from the stack, --web-pids / --worker-pids, or are found in
/proc by command line and the stack's DATABASE_URL; ``forward_p50_s`` — the worker's forward per mask (click
p95 ≤ 3× this is the sizing target of deploy/README.md).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import json
import os
import random
import sys
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import websockets
from pycocotools import mask as coco_mask

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.benchlib import cpu_model, percentile, request, rss_mb, stack_pids, upload  # noqa: E402
from ml.evaluation.clicker import Clicker  # noqa: E402
from ml.evaluation.folder import image_mask_pairs, read_object_mask  # noqa: E402

DATASET = REPO.parent / "shared" / "data" / "bench" / "grabcut"
MAX_RETRY_S, RETRY_JITTER = 10.0, 0.25  # a `busy` click's longest wait, and the share of it added at random
RETRYABLE = {"worker_timeout", "queue_unavailable", "model_unavailable", "inference_failed"}


# ---------------------------------------------------------------------------------------------------- the team
@dataclass
class Person:
    name: str
    user_id: int
    token: str


@dataclass
class Team:
    """Who works on what: made by :func:`setup_team` (the Django ORM must be configured for the stack's database)."""

    url: str
    project: int
    labels: list[int]
    manager: Person
    annotators: list[Person]
    reviewers: list[Person]
    truth: dict[int, Path] = field(default_factory=dict)  # image id → its ground-truth mask file

    @property
    def ws_url(self) -> str:
        return self.url.replace("http", "ws", 1)


def _person(username: str) -> Person:
    from django.contrib.auth import get_user_model
    from rest_framework.authtoken.models import Token

    user, _ = get_user_model().objects.get_or_create(username=username)
    return Person(username, user.pk, Token.objects.get_or_create(user=user)[0].key)


def _variant(path: Path, copy: int) -> tuple[str, bytes]:
    """The photo's bytes; a later copy re-encoded (same pixels' size, other bytes: not a duplicate upload)."""
    if copy == 0:
        return path.name, path.read_bytes()
    from PIL import Image as PILImage

    buffer = io.BytesIO()
    PILImage.open(path).convert("RGB").save(buffer, format="JPEG", quality=92, comment=f"load copy {copy}".encode())
    return f"{path.stem}-{copy}.jpg", buffer.getvalue()


def setup_team(
    url: str,
    *,
    prefix: str,
    annotators: int,
    reviewers: int,
    images_per_annotator: int = 4,
    batch_size: int = 2,
    dataset: Path = DATASET,
) -> Team:
    """Users with tokens, a project with labels, the photos uploaded over REST and batches assigned (ORM + REST)."""
    from django.contrib.auth import get_user_model

    from backend.images.services import batches_create
    from backend.projects.services import label_create, member_add, project_create

    manager = _person(f"{prefix}-manager")
    people = [_person(f"{prefix}-annotator-{i}") for i in range(annotators)]
    checkers = [_person(f"{prefix}-reviewer-{k}") for k in range(reviewers)]
    owner = get_user_model().objects.get(pk=manager.user_id)
    project = project_create(name=f"Load {prefix} {time.strftime('%Y-%m-%d %H:%M:%S')}", created_by=owner)
    labels = [label_create(project=project, name=name).pk for name in ("object", "animal", "thing")]
    for person in people:
        member_add(project=project, username=person.name, role="annotator")
    for person in checkers:
        member_add(project=project, username=person.name, role="reviewer")

    pairs = image_mask_pairs(Path(dataset))
    needed = annotators * images_per_annotator
    files = [(_variant(pairs[n % len(pairs)][0], n // len(pairs)), pairs[n % len(pairs)][1]) for n in range(needed)]
    truth: dict[int, Path] = {}
    ids: list[int] = []
    for start in range(0, needed, 8):
        chunk = files[start : start + 8]
        status, body = upload(url, manager.token, f"/api/projects/{project.pk}/images/", [f for f, _ in chunk])
        if status != 201 or len(body["created"]) != len(chunk):
            raise RuntimeError(f"upload failed: {status} {str(body)[:500]}")
        for image, (_, mask) in zip(body["created"], chunk, strict=True):
            truth[image["id"]] = mask
            ids.append(image["id"])
    for i, person in enumerate(people):
        mine = ids[i * images_per_annotator : (i + 1) * images_per_annotator]
        for b in range(0, len(mine), batch_size):
            batches_create(project=project, image_ids=mine[b : b + batch_size], name=f"{person.name} {b // batch_size + 1}",
                           assignee_id=person.user_id,
                           reviewer_id=checkers[i % len(checkers)].user_id if checkers else None)  # fmt: skip
    return Team(url, project.pk, labels, manager, people, checkers, truth)


def count_lost(acked: list[tuple[int, str]]) -> int:
    """Acknowledged saves (image id, client_key) that the database does not hold exactly once (ORM)."""
    from django.db.models import Count

    from backend.annotations.models import AnnotationObject

    keys = sorted({key for _, key in acked})
    counts: Counter = Counter()
    for start in range(0, len(keys), 500):
        chunk = keys[start : start + 500]
        rows = (AnnotationObject.objects.filter(client_key__in=chunk).values("image_id", "client_key")
                .annotate(n=Count("id")))  # fmt: skip
        for row in rows:
            counts[(row["image_id"], row["client_key"])] += row["n"]
    return sum(1 for image, key in set(acked) if counts[(image, key)] != 1) + (len(acked) - len(set(acked)))


# ---------------------------------------------------------------------------------------------------- figures
@dataclass
class Figures:
    click_s: list[float] = field(default_factory=list)
    forward_s: list[float] = field(default_factory=list)
    queue_s: list[float] = field(default_factory=list)
    save_s: list[float] = field(default_factory=list)
    busy: Counter = field(default_factory=Counter)
    errors: Counter = field(default_factory=Counter)
    engines: set = field(default_factory=set)
    clicks: int = 0  # clicks placed (each answered by a mask, or given up)
    superseded: int = 0
    given_up: int = 0  # clicks still answered `busy` 30 s after the deadline
    reconnects: int = 0
    acked: list[tuple[int, str]] = field(default_factory=list)  # (image, client_key) of acknowledged saves
    unacked: int = 0  # saves given up (refused, or no acknowledgement before the end)
    objects: int = 0
    images_opened: int = 0
    submits: int = 0
    decisions: int = 0
    reviews_finished: int = 0
    browses: int = 0


class Disconnected(Exception):
    pass


class Http:
    """REST calls from the event loop, each in a thread of a pool big enough for everyone at once."""

    def __init__(self, url: str, figures: Figures, threads: int) -> None:
        self.url, self.figures = url, figures
        self.pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="http")

    async def call(self, token: str, method: str, path: str, body: Any = None, expect: tuple = (200, 201, 204)):
        """(status, body); 5xx, failed requests and other unexpected answers are counted as errors (status 0:
        no answer)."""
        loop = asyncio.get_running_loop()
        try:
            status, answer = await loop.run_in_executor(self.pool, request, self.url, token, method, path, body)
        except Exception as exc:  # noqa: BLE001 - no answer: refused, reset, timed out
            self.figures.errors[f"http {method} failed: {type(exc).__name__}"] += 1
            return 0, None
        if status not in expect:
            kind = "5xx" if status >= 500 else str(status)
            self.figures.errors[f"http {method} {kind}"] += 1
        return status, answer


class Socket:
    """One annotate socket: a reader task routes the replies that carry a ``seq`` to whoever waits for them."""

    def __init__(self, team: Team, person: Person, image: int, figures: Figures, heartbeat: bool = True) -> None:
        self.address = f"{team.ws_url}/ws/images/{image}/annotate/?token={person.token}"
        self.origin, self.figures, self.heartbeat = team.url, figures, heartbeat
        self.waiters: dict[int, asyncio.Future] = {}
        self.started: asyncio.Future | None = None
        self.closing = False
        self.lost = False

    async def open(self) -> dict:
        self.ws = await websockets.connect(self.address, origin=self.origin, max_size=2**23, open_timeout=30)
        ready = json.loads(await asyncio.wait_for(self.ws.recv(), 30))
        if ready.get("type") != "ready":
            raise RuntimeError(f"expected ready, got {ready}")
        self.reader = asyncio.create_task(self.read())
        self.beater = asyncio.create_task(self.beat(ready.get("heartbeat_s", 15))) if self.heartbeat else None
        return ready

    async def read(self) -> None:
        try:
            async for raw in self.ws:
                message = json.loads(raw)
                kind, seq = message.get("type"), message.get("seq")
                if seq is not None and seq in self.waiters:
                    waiter = self.waiters.pop(seq)
                    if not waiter.done():
                        waiter.set_result(message)
                elif kind == "started" and self.started and not self.started.done():
                    self.started.set_result(message)
                elif kind == "error":  # one that answers nothing waited for
                    self.figures.errors[f"ws error {message.get('code')}"] += 1
        except websockets.ConnectionClosed:
            pass
        if not self.closing:
            self.lost = True
            self.figures.errors["disconnect"] += 1
        for waiter in [*self.waiters.values(), self.started]:
            if waiter and not waiter.done():
                waiter.set_exception(Disconnected())

    async def beat(self, every: float) -> None:
        with contextlib.suppress(websockets.ConnectionClosed):
            while True:
                await asyncio.sleep(every)
                await self.ws.send(json.dumps({"type": "heartbeat"}))

    async def send(self, message: dict) -> None:
        try:
            await self.ws.send(json.dumps(message))
        except websockets.ConnectionClosed as exc:
            raise Disconnected() from exc

    async def ask(self, message: dict, timeout: float) -> dict:
        """Send a sequenced message; its answer (mask, busy, superseded or error)."""
        waiter = self.waiters[message["seq"]] = asyncio.get_running_loop().create_future()
        await self.send(message)
        return await asyncio.wait_for(waiter, timeout)

    async def start(self, message: dict, timeout: float) -> asyncio.Future | None:
        """Begin an object; with clicks (and a seq) the future of their answer, once ``started`` came."""
        loop = asyncio.get_running_loop()
        self.started = loop.create_future()
        answer = None
        if message.get("seq") is not None:
            answer = self.waiters[message["seq"]] = loop.create_future()
        await self.send(message)
        await asyncio.wait_for(self.started, timeout)
        return answer

    async def close(self) -> None:
        self.closing = True
        if self.beater:
            self.beater.cancel()
        await self.ws.close()
        with contextlib.suppress(Exception):
            await self.reader


# ---------------------------------------------------------------------------------------------------- people
@dataclass
class Options:
    think_s: tuple[float, float] = (1.5, 4.0)
    max_clicks: int = 5
    reject: float = 0.2
    click_timeout_s: float = 60.0
    save_retry_s: float = 120.0


class Annotator:
    def __init__(self, index: int, team: Team, http: Http, figures: Figures, options: Options, seed: int) -> None:
        self.index, self.team, self.http, self.figures, self.options = index, team, http, figures, options
        self.person = team.annotators[index]
        self.rng = random.Random(seed * 1000 + index)
        self.seq = 0
        self.saved = 0
        self.truths: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self.deadline = float("inf")

    async def think(self, scale: float = 1.0) -> None:
        await asyncio.sleep(self.rng.uniform(*self.options.think_s) * scale)

    async def get(self, path: str) -> Any:
        status, body = await self.http.call(self.person.token, "GET", path)
        return body if status == 200 else None

    async def run(self, deadline: float) -> None:
        self.deadline = deadline
        await self.think(self.rng.random())  # people do not start in lockstep
        current = None
        while time.monotonic() < deadline:
            batches = await self.get(f"/api/projects/{self.team.project}/batches/")
            if batches is None:
                await self.think()
                continue
            editable = [b["id"] for b in batches
                        if b["assignee"] == self.person.user_id and b["status"] in ("open", "rejected")]  # fmt: skip
            if not editable:
                await self.think()
                continue
            if current not in editable:
                current = editable[0]
            page = await self.get(f"/api/projects/{self.team.project}/images/?batch={current}&page_size=100")
            images = [i for i in (page or {}).get("results", []) if i["status"] != "accepted"]
            if not images:
                await self.think()
            for image in images:
                if time.monotonic() >= deadline:
                    return
                await self.annotate(image, deadline)
            others = [b for b in editable if b != current]
            if others and time.monotonic() < deadline:
                status, _ = await self.http.call(self.person.token, "POST", f"/api/batches/{current}/submit")
                self.figures.submits += status == 200
                current = others[0]

    def truth(self, image: dict) -> tuple[np.ndarray, np.ndarray] | None:
        if image["id"] not in self.truths and image["id"] in self.team.truth:
            self.truths[image["id"]] = read_object_mask(self.team.truth[image["id"]], None)
        return self.truths.get(image["id"])

    async def annotate(self, image: dict, deadline: float) -> None:
        image_id = image["id"]
        await self.get(f"/api/images/{image_id}/")
        await self.get(f"/api/images/{image_id}/objects/")
        socket = await self.connect(image_id)
        if socket is None:
            return
        self.figures.images_opened += 1
        try:
            for _ in range(self.rng.choice((1, 1, 2))):
                if time.monotonic() >= deadline:
                    break
                socket = await self.make_object(socket, image, deadline)
                if socket is None:
                    return
                await self.think(0.5)
        finally:
            if socket is not None:
                await socket.close()

    async def connect(self, image_id: int) -> Socket | None:
        for attempt in range(5):
            socket = Socket(self.team, self.person, image_id, self.figures)
            try:
                await socket.open()
                return socket
            except (TimeoutError, OSError, websockets.InvalidHandshake, websockets.ConnectionClosed,
                    RuntimeError) as exc:  # fmt: skip
                self.figures.errors[f"ws connect: {type(exc).__name__}"] += 1
                await asyncio.sleep(1 + attempt)
        return None

    async def make_object(self, socket: Socket, image: dict, deadline: float) -> Socket | None:
        label = self.rng.choice(self.team.labels)
        try:
            await socket.start({"type": "start", "label": label}, self.options.click_timeout_s)
        except (TimeoutError, Disconnected):
            self.figures.errors["start unanswered"] += 1
            await socket.close()
            return await self.connect(image["id"])
        truth = self.truth(image)
        clicker = Clicker(*truth) if truth else None
        shape = (image["height"], image["width"])
        prediction = np.zeros(shape, dtype=bool)
        clicks: list[dict] = []
        mask: dict | None = None
        began = time.monotonic()
        wanted = self.rng.randint(2, max(2, self.options.max_clicks))
        while len(clicks) < wanted and time.monotonic() < deadline:
            if clicks:
                await self.think()
            click = clicker.next_click(prediction) if clicker else None
            if clicker and click is None:
                break  # the mask is the truth
            if click is None:
                x, y, positive = self.rng.randrange(shape[1]), self.rng.randrange(shape[0]), not clicks
            else:
                x, y, positive = int(click.x), int(click.y), bool(click.positive)
            clicks.append({"x": x, "y": y, "positive": positive})
            socket, reply = await self.click(socket, image["id"], label, clicks)
            if socket is None:
                return None
            if reply is not None:
                mask = reply
                rle = {"size": reply["rle"]["size"], "counts": reply["rle"]["counts"].encode()}
                decoded = coco_mask.decode(rle).astype(bool)
                prediction = decoded if decoded.shape == shape else prediction
        if mask is not None and mask["polygons"]:
            await self.save(image["id"], label, mask, clicks, time.monotonic() - began)
        with contextlib.suppress(Disconnected):
            await socket.send({"type": "cancel"})
        self.figures.objects += 1
        return socket

    async def click(self, socket: Socket, image_id: int, label: int, clicks: list[dict]):
        """Send the click list until a mask answers it: (the socket, now perhaps a new one; the mask or None)."""
        self.figures.clicks += 1
        sent = time.monotonic()
        resume, backoff = False, 0.0
        for _ in range(50):
            self.seq += 1
            message = {"type": "clicks", "seq": self.seq, "clicks": clicks}
            try:
                if resume:  # a new socket: the object again, computed from its clicks
                    answer = await socket.start({**message, "type": "start", "label": label},
                                                self.options.click_timeout_s)  # fmt: skip
                    resume = False
                    reply = await asyncio.wait_for(answer, self.options.click_timeout_s)
                else:
                    reply = await socket.ask(message, self.options.click_timeout_s)
            except Disconnected:
                self.figures.reconnects += 1
                socket = await self.connect(image_id)
                if socket is None:
                    return None, None
                resume = True
                continue
            except TimeoutError:
                self.figures.errors["click unanswered"] += 1
                return socket, None
            kind = reply["type"]
            if kind == "mask":
                self.figures.click_s.append(time.monotonic() - sent)
                latency = reply.get("latency") or {}
                if "forward_s" in latency:
                    self.figures.forward_s.append(latency["forward_s"])
                    self.figures.queue_s.append(latency.get("queue_s", 0.0))
                self.figures.engines.add(reply.get("engine"))
                return socket, reply
            if kind == "busy":  # as the workspace does (frontend/src/clicking.ts): the hint, backing off, jitter
                self.figures.busy[reply.get("reason", "?")] += 1
                if time.monotonic() > self.deadline + 30:
                    self.figures.given_up += 1
                    return socket, None
                backoff = min(MAX_RETRY_S, max(float(reply.get("retry_after_s") or 1.0), backoff * 1.5))
                await asyncio.sleep(backoff * (1 + self.rng.random() * RETRY_JITTER))
            elif kind == "superseded":
                self.figures.superseded += 1
            else:
                code = reply.get("code")
                self.figures.errors[f"ws error {code}"] += 1
                if code not in RETRYABLE:
                    return socket, None
                await asyncio.sleep(1.0)
        return socket, None

    async def save(self, image_id: int, label: int, mask: dict, clicks: list[dict], seconds: float) -> None:
        """Save the object; the journal re-sends it with the same client_key until it is acknowledged."""
        self.saved += 1
        key = f"{self.person.name}-{self.saved}"
        body = {"label": label, "polygons": mask["polygons"], "source": "interactive", "clicks": clicks,
                "clicks_used": len(clicks), "seconds_spent": round(seconds, 2), "client_key": key}  # fmt: skip
        sent = time.monotonic()
        pause = 0.5
        while time.monotonic() - sent < self.options.save_retry_s:
            status, answer = await self.http.call(self.person.token, "POST", f"/api/images/{image_id}/objects/", body)
            if status in (200, 201):
                self.figures.save_s.append(time.monotonic() - sent)
                self.figures.acked.append((image_id, key))
                return
            if status and status < 500 and status != 429:
                break  # refused: not acknowledged, and re-sending will not change that (counted by http.call)
            await asyncio.sleep(pause * self.rng.uniform(1.0, 1.5))
            pause = min(pause * 2, 8.0)
        self.figures.unacked += 1


class Reviewer:
    def __init__(self, index: int, team: Team, http: Http, figures: Figures, options: Options, seed: int) -> None:
        self.team, self.http, self.figures, self.options = team, http, figures, options
        self.person = team.reviewers[index]
        self.rng = random.Random(seed * 1000 + 500 + index)

    async def call(self, method: str, path: str, body: Any = None) -> Any:
        status, answer = await self.http.call(self.person.token, method, path, body)
        return answer if status == 200 else None

    async def run(self, deadline: float) -> None:
        project = self.team.project
        while time.monotonic() < deadline:
            await asyncio.sleep(self.rng.uniform(*self.options.think_s))
            batches = await self.call("GET", f"/api/projects/{project}/batches/") or []
            mine = [b for b in batches if b["reviewer"] == self.person.user_id and b["status"] == "submitted"]
            if not mine:
                await self.browse()
                continue
            batch = self.rng.choice(mine)
            page = await self.call("GET", f"/api/projects/{project}/images/?batch={batch['id']}&page_size=100") or {}
            for image in page.get("results", []):
                if time.monotonic() >= deadline:
                    return
                await self.call("GET", f"/api/images/{image['id']}/objects/")
                await asyncio.sleep(self.rng.uniform(*self.options.think_s))
                if image["status"] in ("accepted", "rejected"):
                    continue
                decision = "reject" if self.rng.random() < self.options.reject else "accept"
                if await self.call("POST", f"/api/images/{image['id']}/review", {"decision": decision}) is not None:
                    self.figures.decisions += 1
            if await self.call("POST", f"/api/batches/{batch['id']}/review", {"decision": "finish"}) is not None:
                self.figures.reviews_finished += 1

    async def browse(self) -> None:
        page = await self.call("GET", f"/api/projects/{self.team.project}/images/?page_size=50") or {}
        images = page.get("results", [])
        if images:
            await self.call("GET", f"/api/images/{self.rng.choice(images)['id']}/objects/")
        self.figures.browses += 1


# ---------------------------------------------------------------------------------------------------- the run
def wait_ready(url: str, timeout: float = 300) -> str:
    """Wait until ``/readyz`` answers 200 (or ``/healthz``, on a stack without /readyz); the path that answered."""
    import urllib.error
    import urllib.request

    deadline = time.monotonic() + timeout
    path, last = "/readyz", ""
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url + path, timeout=10) as response:
                if response.status == 200:
                    return path
        except urllib.error.HTTPError as error:
            if error.code == 404 and path == "/readyz":
                path = "/healthz"
                continue
            last = f"{error.code} {error.read()[:300]!r}"
        except OSError as error:
            last = str(error)
        time.sleep(1)
    raise TimeoutError(f"{url}{path} not ready after {timeout} s: {last}")


@dataclass
class Pids:
    """The stack's daphne ("web") and inference worker ("worker") pids; ``find`` finds them again (a restarted
    process has a new pid) — None: the pids given stay."""

    web: list[int]
    worker: list[int]
    find: Callable[[str], list[int]] | None = None

    def refresh(self) -> None:
        if self.find is not None:
            self.web, self.worker = self.find("web"), self.find("worker")


class Memory:
    """The summed RSS of the web and worker processes: when the clock starts (``cold``), after the warm-up
    (``start``), at the end, the peak, and a sample every ``every`` seconds (``samples``: [t, web, worker])."""

    def __init__(self, pids: Pids, warmup_s: float, every: float = 10.0) -> None:
        self.pids, self.warmup_s, self.every = pids, warmup_s, every
        self.began = time.monotonic()
        self.cold = self.read()
        self.start = dict(self.cold) if warmup_s <= 0 else None
        self.peak = dict(self.cold)
        self.samples = [[0.0, self.cold["web"], self.cold["worker"]]]

    def read(self) -> dict:
        self.pids.refresh()
        return {"web": rss_mb(self.pids.web), "worker": rss_mb(self.pids.worker)}

    def take(self) -> dict:
        now = self.read()
        elapsed = time.monotonic() - self.began
        self.samples.append([round(elapsed, 1), now["web"], now["worker"]])
        for kind, value in now.items():
            if value is not None:
                self.peak[kind] = max(self.peak.get(kind) or 0.0, value)
        if self.start is None and elapsed >= self.warmup_s:
            self.start = dict(now)
        return now

    async def sample(self) -> None:
        while True:
            await asyncio.sleep(self.every)
            self.take()

    def figures(self, kind: str, end: dict) -> dict:
        start = (self.start or end)[kind]
        growth = round(100 * (end[kind] - start) / start, 1) if start and end[kind] else None
        return {"start": start, "end": end[kind], "max": self.peak.get(kind), "cold": self.cold[kind],
                "growth_pct": growth}  # fmt: skip


async def drive(
    team: Team, *, reviewers: int, seconds: float, options: Options, seed: int, pids: Pids, warmup_s: float = 0.0
) -> dict:
    """Everyone works for ``seconds``; the figures (without ``lost``, which needs the database). The RSS
    ``start`` is read ``warmup_s`` into the run (caches filled), ``cold`` as it begins."""
    figures = Figures()
    http = Http(team.url, figures, threads=len(team.annotators) + reviewers + 4)
    load_before = os.getloadavg()[0]
    memory = Memory(pids, warmup_s)
    sampler = asyncio.create_task(memory.sample())
    began = time.monotonic()
    deadline = began + seconds
    people = [Annotator(i, team, http, figures, options, seed).run(deadline) for i in range(len(team.annotators))]
    people += [Reviewer(k, team, http, figures, options, seed).run(deadline) for k in range(reviewers)]
    outcomes = await asyncio.gather(*people, return_exceptions=True)
    elapsed = time.monotonic() - began
    for outcome in outcomes:
        if isinstance(outcome, BaseException):
            figures.errors[f"crash: {type(outcome).__name__}: {outcome}"] += 1
    sampler.cancel()
    end = memory.take()
    http.pool.shutdown(wait=True)

    return {
        "annotators": len(team.annotators),
        "reviewers": reviewers,
        "minutes": round(seconds / 60, 3),
        "think_s": list(options.think_s),
        "elapsed_s": round(elapsed, 1),
        "clicks": figures.clicks,
        "masks": len(figures.click_s),
        "objects": figures.objects,
        "images_opened": figures.images_opened,
        "saves": len(figures.acked),
        "unacked_saves": figures.unacked,
        "click_p50_s": percentile(figures.click_s, 50),
        "click_p95_s": percentile(figures.click_s, 95),
        "click_max_s": round(max(figures.click_s), 4) if figures.click_s else None,
        "forward_p50_s": percentile(figures.forward_s, 50),
        "click_p95_over_forward": (
            round(np.percentile(figures.click_s, 95) / np.percentile(figures.forward_s, 50), 2)
            if figures.click_s and figures.forward_s
            else None
        ),  # fmt: skip
        "queue_p95_s": percentile(figures.queue_s, 95),
        "save_p50_s": percentile(figures.save_s, 50),
        "save_p95_s": percentile(figures.save_s, 95),
        "busy": sum(figures.busy.values()),
        "busy_reasons": dict(figures.busy),
        "superseded": figures.superseded,
        "clicks_given_up": figures.given_up,
        "reconnects": figures.reconnects,
        "errors": sum(figures.errors.values()),
        "error_kinds": dict(figures.errors),
        "submits": figures.submits,
        "review_decisions": figures.decisions,
        "reviews_finished": figures.reviews_finished,
        "reviewer_browses": figures.browses,
        "engines": sorted(e for e in figures.engines if e),
        "web_rss_mb": memory.figures("web", end),
        "worker_rss_mb": memory.figures("worker", end),
        "rss_warmup_s": warmup_s,
        "rss_samples": memory.samples,
        "web_pids": pids.web,
        "worker_pids": pids.worker,
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "loadavg_1min": [round(load_before, 2), round(os.getloadavg()[0], 2)],  # before and after: others' load
        "driver_cpu_s": round(time.process_time(), 1),  # this process's CPU time (it should stay light)
        "acked": figures.acked,  # popped by the caller once `lost` is counted
    }


def run(
    team: Team, *, reviewers: int, seconds: float, options: Options, seed: int, pids: Pids, warmup_s: float = 0.0
) -> dict:
    """Drive the team, then count ``lost`` in the database (call with the ORM configured, outside an event loop)."""
    result = asyncio.run(drive(team, reviewers=reviewers, seconds=seconds, options=options, seed=seed, pids=pids,
                               warmup_s=warmup_s))  # fmt: skip
    acked = result.pop("acked")
    result["lost"] = count_lost(acked)
    return result


def _think_range(text: str) -> tuple[float, float]:
    parts = [float(p) for p in text.replace(",", "-").split("-") if p]
    low, high = (parts[0], parts[0]) if len(parts) == 1 else (parts[0], parts[1])
    if not 0 <= low <= high:
        raise argparse.ArgumentTypeError("--think-s is LOW-HIGH seconds, 0 <= LOW <= HIGH")
    return low, high


def _pid_list(text: str) -> list[int]:
    return [int(p) for p in text.split(",") if p.strip()]


def configure_django(database_url: str) -> None:
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.config.settings")
    import django

    django.setup()


def start_stack(args: argparse.Namespace) -> Any:
    """The multi-process stack of deploy/stack.py, started for this run in a temporary folder."""
    try:
        from deploy.stack import Stack
    except ImportError as exc:
        raise SystemExit(f"deploy/stack.py is not available ({exc}); pass --url and --database-url of a running "
                         "stack") from exc  # fmt: skip
    say = lambda text: print(text, file=sys.stderr, flush=True)  # noqa: E731 - stdout is the figures
    stack = Stack(web=args.web, inference_workers=args.workers, run_dir=None, ephemeral=True, say=say)
    return stack.started()


def unit_pids(stack: Any, kind: str) -> list[int]:
    """The pids of the stack's daphne units (``web1`` …) or inference workers (``inference1`` …)."""
    prefix = "web" if kind == "web" else "inference"
    return sorted(u.pid for name, u in stack.units.items() if name.startswith(prefix) and u.running and u.pid)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--annotators", type=int, default=4)
    parser.add_argument("--reviewers", type=int, default=None, help="default: one per ten annotators, at least one")
    parser.add_argument("--minutes", type=float, default=1.0)
    parser.add_argument("--think-s", type=_think_range, default=(1.5, 4.0),
                        help="seconds between a mask and the next click, drawn uniformly from LOW-HIGH (default 1.5-4)")  # fmt: skip
    parser.add_argument("--max-clicks", type=int, default=5, help="clicks per object: 2 to this many")
    parser.add_argument("--reject", type=float, default=0.2, help="share of images the reviewers reject")
    parser.add_argument("--images-per-annotator", type=int, default=4)
    parser.add_argument("--batch-size", type=int, default=2)
    parser.add_argument("--dataset", type=Path, default=DATASET, help="photos (images/) with masks (masks/)")
    parser.add_argument("--web", type=int, default=2, help="daphne processes of the stack it starts")
    parser.add_argument("--workers", type=int, default=2, help="inference workers of the stack it starts")
    parser.add_argument("--url", help="a running stack's address (default: start deploy/stack.py's)")
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"),
                        help="with --url: the stack's DATABASE_URL (setup and the lost check); default $DATABASE_URL")  # fmt: skip
    parser.add_argument("--user-prefix", default=None, help="names of the users it makes (default: load-<time>)")
    parser.add_argument("--web-pids", type=_pid_list, help="comma-separated daphne pids (default: found)")
    parser.add_argument("--worker-pids", type=_pid_list, help="comma-separated inference worker pids (default: found)")
    parser.add_argument("--warmup-minutes", type=float, default=None,
                        help="the RSS `start` is read this far into the run, once caches are filled (default: a "
                             "fifth of --minutes, at most 2; `cold` is read as the run begins)")  # fmt: skip
    parser.add_argument("--ready-timeout", type=float, default=300)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", help="write the figures here")
    args = parser.parse_args()
    if args.warmup_minutes is None:
        args.warmup_minutes = min(2.0, args.minutes / 5)
    reviewers = args.reviewers if args.reviewers is not None else max(1, args.annotators // 10)
    prefix = args.user_prefix or f"load-{time.strftime('%m%d%H%M%S')}"

    stack = None
    try:
        if args.url:
            if not args.database_url:
                parser.error("--url needs --database-url (or $DATABASE_URL): the team is set up in that database")
            url, database_url = args.url.rstrip("/"), args.database_url
        else:
            stack = start_stack(args)
            url, database_url = stack.url.rstrip("/"), stack.database_url
            os.environ["REDIS_URL"] = stack.redis_url  # what the setup's services broadcast goes to the stack
        configure_django(database_url)
        ready = wait_ready(url, args.ready_timeout)
        team = setup_team(url, prefix=prefix, annotators=args.annotators, reviewers=reviewers,
                          images_per_annotator=args.images_per_annotator, batch_size=args.batch_size,
                          dataset=args.dataset)  # fmt: skip
        if args.web_pids is not None or args.worker_pids is not None:
            pids = Pids(args.web_pids or [], args.worker_pids or [])
        elif stack is not None:
            pids = Pids([], [], lambda kind: unit_pids(stack, kind))
        else:
            pids = Pids([], [], lambda kind: stack_pids(kind, database_url))
        pids.refresh()
        if not pids.web or not pids.worker:
            print(f"warning: web pids {pids.web}, worker pids {pids.worker}: pass --web-pids / --worker-pids for the "
                  "memory figures", file=sys.stderr)  # fmt: skip
        options = Options(think_s=args.think_s, max_clicks=args.max_clicks, reject=args.reject)
        result = run(team, reviewers=reviewers, seconds=args.minutes * 60, options=options, seed=args.seed, pids=pids,
                     warmup_s=args.warmup_minutes * 60)  # fmt: skip
        result.update(ready=ready, url=url, user_prefix=prefix, project=team.project)
    finally:
        if stack is not None:
            stack.stop()
    text = json.dumps(result, indent=2)
    print(text)
    if args.json:
        Path(args.json).write_text(text + "\n")
    return 0 if result["errors"] == 0 and result["lost"] == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
