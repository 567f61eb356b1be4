"""Teamwork latency of a team stack: N scripted people editing objects of ONE image at the same time.

    python bench/collab.py --clients 8 --ops 30 [--think 1.0] [--steal 0.1] [--database URL] [--json OUT]

It starts a stack of its own on this machine: two daphne processes (the clients are spread over both, so that
most broadcasts cross from one web process to the other through Redis), on one Redis database (--redis, flushed)
and one database (--database: a Postgres URL, or by default a temporary SQLite file). No inference workers: the
bench never clicks. Client 0 is the annotator of the image's batch, the others are managers (both may edit).

Every client holds the image's annotate socket open (sending ``heartbeat`` every ``heartbeat_s``) and works
like the browser does over REST: it creates an object (POST, no lease needed), and each op takes the lease on one
of its own objects over the socket, PATCHes a changed polygon with the version it knows, and releases it; one op
in ten creates a new object instead. With probability --steal an op goes for another client's object instead,
half the time with a lease (which may be refused) and half the time without one (which may meet 423 while the
owner holds it, or 409 when the version it knows is stale). Between ops a client waits --think seconds (±50 %).

Figures: ``update_p50_s`` / ``update_p95_s`` — for each acknowledged save (200/201), from sending the request
to the moment the last other client received its ``object_changed`` (same id and version); ``save_p50_s`` — the
REST round trip alone; ``lost`` — objects whose last acknowledged save is not what the database holds at the end
(REST GET); ``undelivered`` — (save, other client) pairs whose ``object_changed`` never came; ``views_diverged``
— clients whose view (their initial GET + every ``object_changed``) differs from the database at the end;
``conflicts`` — 409 and 423 answers; ``lease_refused`` — leases refused because another client held them.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from websockets.sync.client import connect

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.benchlib import percentile, request  # noqa: E402

SETUP_SCRIPT = """
import io, json, sys, uuid
import numpy as np
from PIL import Image as PILImage
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.authtoken.models import Token
from backend.images.services import batches_create, images_upload
from backend.projects.services import label_create, member_add, project_create
clients = int(sys.stdin.read())
run = uuid.uuid4().hex[:6]
users = [User.objects.create_user(f"collab-{run}-{i}") for i in range(clients)]
owner = User.objects.create_user(f"collab-{run}-owner")
project = project_create(name=f"Collab bench {run}", created_by=owner)
label = label_create(project=project, name="object")
for i, user in enumerate(users):
    member_add(project=project, username=user.username, role="annotator" if i == 0 else "manager")
pixels = np.random.default_rng(0).integers(0, 255, size=(480, 640, 3), dtype=np.uint8)
buffer = io.BytesIO()
PILImage.fromarray(pixels).save(buffer, format="PNG")
image = images_upload(project=project, files=[SimpleUploadedFile("bench.png", buffer.getvalue())],
                      uploaded_by=owner).created[0]
batches_create(project=project, image_ids=[image.pk], assignee_id=users[0].pk)
tokens = [Token.objects.create(user=user).key for user in users]
print("BENCH" + json.dumps({"image": image.pk, "label": label.pk, "width": image.width, "height": image.height,
                            "tokens": tokens}))
"""


@dataclass
class LocalStack:
    """Two daphne processes on one Redis database and one database, in a temporary folder."""

    redis_url: str
    database_url: str | None
    lease_ttl_s: float | None = None
    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="collab-bench-")))
    processes: list[subprocess.Popen] = field(default_factory=list)

    @property
    def env(self) -> dict:
        env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "DJANGO_ALLOW_ASYNC_UNSAFE"}}
        env.update(
            DATABASE_URL=self.database_url or f"sqlite:///{self.root / 'db.sqlite3'}",
            MEDIA_ROOT=str(self.root / "media"),
            REDIS_URL=self.redis_url,
            SECRET_KEY="bench",
            ALLOWED_HOSTS="127.0.0.1,localhost",
            PYTHONUNBUFFERED="1",
        )
        return env

    def manage(self, *args: str, stdin: str = "") -> str:
        result = subprocess.run([sys.executable, "manage.py", *args], cwd=REPO, env=self.env, input=stdin,
                                capture_output=True, text=True)  # fmt: skip
        if result.returncode:
            raise RuntimeError(f"manage.py {args[0]} failed:\n{result.stderr[-4000:]}")
        return result.stdout

    def daphne(self, name: str) -> str:
        """A daphne on a port the OS picks when it binds; its address once it listens."""
        log = self.root / f"{name}.log"
        args = [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", "0", "backend.config.asgi:application"]
        process = subprocess.Popen(args, cwd=REPO, env=self.env, stdout=log.open("w"), stderr=subprocess.STDOUT,
                                   start_new_session=True)  # fmt: skip
        self.processes.append(process)
        deadline = time.time() + 120
        while not (found := re.search(r"Listening on TCP address 127\.0\.0\.1:(\d+)", log.read_text(errors="replace"))):
            if process.poll() is not None or time.time() > deadline:
                raise RuntimeError(f"{name} did not start; see {log}")
            time.sleep(0.2)
        return f"http://127.0.0.1:{found.group(1)}"

    def start(self, clients: int) -> tuple[list[str], dict]:
        import redis

        redis.Redis.from_url(self.redis_url).flushdb()
        self.manage("migrate", "--noinput")
        out = self.manage("shell", "-c", SETUP_SCRIPT, stdin=str(clients))
        session = json.loads(out.split("BENCH", 1)[1])
        return [self.daphne("daphne1"), self.daphne("daphne2")], session

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, 9)
                process.wait(10)


@dataclass
class Save:
    """An acknowledged save: the object as the server answered it, and when its request was sent."""

    object_id: int
    version: int
    polygons: Any
    by: int
    sent: float
    acked: float


class Client:
    """One person: a socket (read in a thread of its own) and REST calls from the op loop."""

    def __init__(self, index: int, url: str, session: dict, rng: random.Random, think: float, steal: float) -> None:
        self.index, self.url, self.session, self.rng = index, url, session, rng
        self.token = session["tokens"][index]
        self.think, self.steal = think, steal
        self.cond = threading.Condition()
        self.send_lock = threading.Lock()
        self.arrivals: dict[tuple[int, int], float] = {}  # (object, version) → when its object_changed came
        self.view: dict[int, dict] = {}  # object id → the newest state this client knows
        self.mine: list[int] = []  # objects this client created
        self.leases: dict[int, bool] = {}  # object → mine, as the last `leases` said
        self.refused: set[int] = set()
        self.saves: list[Save] = []
        self.conflicts = 0
        self.lease_refused = 0
        self.errors: list[str] = []
        self.closed = threading.Event()

    # ------------------------------------------------------------------ the socket
    def open(self) -> None:
        ws_url = self.url.replace("http", "ws", 1)
        self.ws = connect(f"{ws_url}/ws/images/{self.session['image']}/annotate/?token={self.token}", origin=self.url,
                          max_size=2**23).__enter__()  # fmt: skip
        ready = json.loads(self.ws.recv(timeout=30))
        assert ready["type"] == "ready", ready
        self.heartbeat_s = ready["heartbeat_s"]
        self.reader = threading.Thread(target=self.read, daemon=True)
        self.reader.start()
        status, objects = request(self.url, self.token, "GET", f"/api/images/{self.session['image']}/objects/")
        assert status == 200, (status, objects)
        with self.cond:
            for obj in objects:
                self.merge(obj)
        self.beater = threading.Thread(target=self.beat, daemon=True)
        self.beater.start()

    def send(self, **message: Any) -> None:
        with self.send_lock:
            self.ws.send(json.dumps(message))

    def beat(self) -> None:
        while not self.closed.wait(self.heartbeat_s):
            try:
                self.send(type="heartbeat")
            except Exception:  # noqa: BLE001 - the socket is closing
                return

    def merge(self, obj: dict, deleted: bool = False) -> None:
        known = self.view.get(obj["id"])
        if known is None or known["version"] < obj["version"]:
            self.view[obj["id"]] = obj | {"deleted": deleted}

    def read(self) -> None:
        while True:
            try:
                raw = self.ws.recv()
            except Exception:  # noqa: BLE001 - closed
                return
            now = time.perf_counter()
            message = json.loads(raw)
            kind = message.get("type")
            with self.cond:
                if kind == "object_changed":
                    obj = message["object"]
                    self.arrivals.setdefault((obj["id"], obj["version"]), now)
                    self.merge(obj, deleted=message["action"] == "deleted")
                elif kind == "leases":
                    self.leases = {item["object"]: item["mine"] for item in message["leases"]}
                elif kind == "lease_refused":
                    self.refused.add(message["object"])
                elif kind == "error":
                    self.errors.append(message.get("code", "error"))
                self.cond.notify_all()

    def take_lease(self, object_id: int) -> bool:
        with self.cond:
            self.refused.discard(object_id)
        self.send(type="lease", object=object_id)
        with self.cond:
            answered = self.cond.wait_for(lambda: self.leases.get(object_id) or object_id in self.refused, timeout=30)
            if not answered:
                self.errors.append("lease_timeout")
                return False
            if object_id in self.refused:
                self.lease_refused += 1
                return False
            return True

    def release(self, object_id: int) -> None:
        """Give the lease up and wait for the answer (so that the next op's `lease` is not answered by this)."""
        self.send(type="release", object=object_id)
        with self.cond:
            if not self.cond.wait_for(lambda: not self.leases.get(object_id), timeout=30):
                self.errors.append("release_timeout")

    # ------------------------------------------------------------------ REST
    def polygon(self) -> list[dict]:
        w, h = self.session["width"], self.session["height"]
        x, y = self.rng.randrange(0, w - 60), self.rng.randrange(0, h - 60)
        dx, dy = self.rng.randrange(10, 60), self.rng.randrange(10, 60)
        return [{"outer": [[x, y], [x + dx, y], [x + dx, y + dy], [x, y + dy]], "holes": []}]

    def create(self) -> None:
        body = {"label": self.session["label"], "polygons": self.polygon(),
                "client_key": f"bench-{self.index}-{len(self.mine)}-{self.rng.random()}"}  # fmt: skip
        sent = time.perf_counter()
        status, obj = request(self.url, self.token, "POST", f"/api/images/{self.session['image']}/objects/", body)
        if status != 201:
            self.errors.append(f"create {status}")
            return
        self.saves.append(Save(obj["id"], obj["version"], obj["polygons"], self.index, sent, time.perf_counter()))
        self.mine.append(obj["id"])
        with self.cond:
            self.merge(obj)

    def patch(self, object_id: int) -> None:
        with self.cond:
            version = self.view[object_id]["version"]
        sent = time.perf_counter()
        status, body = request(self.url, self.token, "PATCH", f"/api/objects/{object_id}/",
                               {"version": version, "polygons": self.polygon()})  # fmt: skip
        if status == 200:
            self.saves.append(Save(object_id, body["version"], body["polygons"], self.index, sent, time.perf_counter()))
            with self.cond:
                self.merge(body)
        elif status in (409, 423):
            self.conflicts += 1
        else:
            self.errors.append(f"patch {status}")

    def op(self) -> None:
        others = [i for i in self.view if i not in self.mine and not self.view[i]["deleted"]]
        if others and self.rng.random() < self.steal:
            target = self.rng.choice(others)
            if self.rng.random() < 0.5:
                self.patch(target)  # no lease: 423 while its owner edits it, 409 if this view is stale
            elif self.take_lease(target):
                self.patch(target)
                self.release(target)
            return
        if not self.mine or self.rng.random() < 0.1:
            self.create()
            return
        target = self.rng.choice(self.mine)
        if self.take_lease(target):
            self.patch(target)
            self.release(target)

    def run(self, ops: int, start: threading.Barrier) -> None:
        try:
            start.wait()
            time.sleep(self.rng.uniform(0, self.think))  # people do not start in lockstep
            for _ in range(ops):
                self.op()
                time.sleep(self.think * self.rng.uniform(0.5, 1.5))
        except Exception as exc:  # noqa: BLE001 - reported with the figures
            self.errors.append(f"{type(exc).__name__}: {exc}")

    def close(self) -> None:
        self.closed.set()
        self.ws.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=2)
    parser.add_argument("--ops", type=int, default=30, help="ops per client")
    parser.add_argument("--think", type=float, default=1.0, help="mean seconds between a client's ops (±50%%)")
    parser.add_argument("--steal", type=float, default=0.1, help="share of ops on another client's object")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/5", help="a Redis database of its own (flushed)")
    parser.add_argument("--database", help="a Postgres URL (default: a temporary SQLite file)")
    parser.add_argument("--deliver-timeout", type=float, default=15.0,
                        help="seconds to wait at the end for the last object_changed messages")  # fmt: skip
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", help="write the figures here")
    args = parser.parse_args()

    stack = LocalStack(args.redis, args.database)
    clients: list[Client] = []
    try:
        urls, session = stack.start(args.clients)
        clients = [Client(i, urls[i % len(urls)], session, random.Random(args.seed * 1000 + i), args.think, args.steal)
                   for i in range(args.clients)]  # fmt: skip
        for client in clients:
            client.open()
        start = threading.Barrier(len(clients))
        threads = [threading.Thread(target=c.run, args=(args.ops, start)) for c in clients]
        began = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - began

        saves = [s for c in clients for s in c.saves]

        def delivered() -> bool:
            for client in clients:
                with client.cond:
                    if any((s.object_id, s.version) not in client.arrivals for s in saves if s.by != client.index):
                        return False
            return True

        deadline = time.time() + args.deliver_timeout
        while not delivered() and time.time() < deadline:
            time.sleep(0.05)

        latencies, undelivered = [], 0
        for save in saves:
            arrivals = [c.arrivals.get((save.object_id, save.version)) for c in clients if c.index != save.by]
            undelivered += sum(a is None for a in arrivals)
            if arrivals and all(a is not None for a in arrivals):
                latencies.append(max(arrivals) - save.sent)

        status, final = request(urls[0], session["tokens"][0], "GET", f"/api/images/{session['image']}/objects/")
        assert status == 200, (status, final)
        database = {obj["id"]: obj for obj in final}
        last: dict[int, Save] = {}
        for save in saves:
            if save.object_id not in last or last[save.object_id].version < save.version:
                last[save.object_id] = save
        lost = sum(
            1
            for object_id, save in last.items()
            if object_id not in database
            or database[object_id]["version"] != save.version
            or database[object_id]["polygons"] != save.polygons
        )
        truth = {i: (o["version"], o["polygons"]) for i, o in database.items()}
        diverged = 0
        for client in clients:
            with client.cond:
                view = {i: (o["version"], o["polygons"]) for i, o in client.view.items() if not o["deleted"]}
            diverged += view != truth
    finally:
        for client in clients:
            if hasattr(client, "ws"):
                client.close()
        stack.stop()

    figures = {
        "clients": args.clients,
        "ops_per_client": args.ops,
        "think_s": args.think,
        "steal": args.steal,
        "database": "postgres" if args.database else "sqlite",
        "web_processes": 2,
        "saves": len(saves),
        "update_p50_s": percentile(latencies, 50),
        "update_p95_s": percentile(latencies, 95),
        "update_max_s": round(max(latencies), 4) if latencies else None,
        "save_p50_s": percentile([s.acked - s.sent for s in saves], 50),
        "save_p95_s": percentile([s.acked - s.sent for s in saves], 95),
        "lost": lost,
        "undelivered": undelivered,
        "views_diverged": diverged,
        "conflicts": sum(c.conflicts for c in clients),
        "lease_refused": sum(c.lease_refused for c in clients),
        "errors": sorted({e for c in clients for e in c.errors}),
        "elapsed_s": round(elapsed, 2),
    }
    print(json.dumps(figures, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2))
    return 0 if lost == 0 and undelivered == 0 and diverged == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
