"""Click-to-mask latency of the live stack: N annotators clicking like the NoC simulator on real photos.

    python bench/click_latency.py --annotators 4 --clicks 10 [--workers 1] [--threads T] [--engine E] [--json OUT]
    python bench/click_latency.py --url http://host:8000 --token KEY --image ID ... (an existing deployment)

Without --url it starts a stack of its own on this machine: a temporary SQLite database and media folder,
daphne, Redis (database 5 of 127.0.0.1:6379, flushed) and --workers Celery inference workers (each with
``INFERENCE_THREADS=--threads`` and ``INFERENCE_ENGINE=--engine`` when given), with one photo of the benchmark
set per annotator. Round trip = sending a click → its mask arriving. The first click on an image (the worker loads the image,
and the first forward sees the whole image) is reported apart (``first_click_*``); ``p50_s``/``p95_s`` are
over the later clicks. Where a click's time goes: ``network_p50_s`` (the engine), ``predictor_p50_s`` (crops,
click maps and pastes around it), ``post_p50_s`` (threshold, polygons), ``queue_p50_s`` (waiting for a worker)
and ``transport_p50_s`` (everything else: websocket, channel layer, Celery). Each annotator waits for
the mask before the next click and looks at it for --think seconds (±50 %), as a person does; --think 0 is
the worst case of clicks fired back to back.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from pycocotools import mask as coco_mask
from websockets.sync.client import connect

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from ml.evaluation.clicker import Clicker  # noqa: E402
from ml.evaluation.folder import FolderDataset  # noqa: E402

SETUP_SCRIPT = """
import json, sys
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.authtoken.models import Token
from backend.images.services import batches_create, images_upload
from backend.projects.services import label_create, member_add, project_create
paths = json.loads(sys.stdin.read())
owner = User.objects.create_user("bench-manager")
project = project_create(name="Latency bench", created_by=owner)
label = label_create(project=project, name="object")
out = []
for i, path in enumerate(paths):
    user = User.objects.create_user(f"bench-annotator-{i}")
    member_add(project=project, username=user.username, role="annotator")
    data = open(path, "rb").read()
    image = images_upload(project=project, files=[SimpleUploadedFile(path.rsplit("/", 1)[-1], data)],
                          uploaded_by=owner).created[0]
    batches_create(project=project, image_ids=[image.pk], assignee_id=user.pk)
    out.append({"image": image.pk, "token": Token.objects.create(user=user).key, "label": label.pk,
                "width": image.width, "height": image.height})
print("BENCH" + json.dumps(out))
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class LocalStack:
    workers: int
    redis_url: str
    threads: int | None = None
    engine: str | None = None
    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="click-bench-")))
    processes: list[subprocess.Popen] = field(default_factory=list)

    @property
    def env(self) -> dict:
        env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL"}}
        env.update(
            DATABASE_URL=f"sqlite:///{self.root / 'db.sqlite3'}",
            MEDIA_ROOT=str(self.root / "media"),
            REDIS_URL=self.redis_url,
            SECRET_KEY="bench",
            ALLOWED_HOSTS="127.0.0.1,localhost",
            PYTHONUNBUFFERED="1",
        )
        if self.threads:
            env["INFERENCE_THREADS"] = str(self.threads)
        if self.engine:
            env["INFERENCE_ENGINE"] = self.engine
        return env

    def manage(self, *args: str, stdin: str = "") -> str:
        result = subprocess.run([sys.executable, "manage.py", *args], cwd=REPO, env=self.env, input=stdin,
                                capture_output=True, text=True, check=True)  # fmt: skip
        return result.stdout

    def spawn(self, name: str, args: list[str], ready: str) -> None:
        log = self.root / f"{name}.log"
        process = subprocess.Popen(args, cwd=REPO, env=self.env, stdout=log.open("w"), stderr=subprocess.STDOUT,
                                   start_new_session=True)  # fmt: skip
        self.processes.append(process)
        deadline = time.time() + 120
        while ready not in log.read_text(errors="replace"):
            if process.poll() is not None or time.time() > deadline:
                raise RuntimeError(f"{name} did not start; see {log}")
            time.sleep(0.2)

    def start(self, photos: list[Path]) -> tuple[str, list[dict]]:
        import redis

        redis.Redis.from_url(self.redis_url).flushdb()
        self.manage("migrate", "--noinput")
        out = self.manage("shell", "-c", SETUP_SCRIPT, stdin=json.dumps([str(p) for p in photos]))
        sessions = json.loads(out.split("BENCH", 1)[1])
        port = free_port()
        self.spawn("daphne", [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port),
                              "backend.config.asgi:application"], "Listening on TCP address")  # fmt: skip
        for i in range(self.workers):
            self.spawn(f"worker{i}", [sys.executable, "-m", "celery", "-A", "backend.config", "worker", "-Q",
                                      "inference", "-P", "solo", "-n", f"bench{i}@%h", "--without-gossip",
                                      "--without-mingle", "--without-heartbeat", "-l", "INFO"], "ready.")  # fmt: skip
        return f"http://127.0.0.1:{port}", sessions

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, 9)


@dataclass
class Annotator:
    url: str
    session: dict
    truth: np.ndarray
    ignore: np.ndarray
    clicks: int
    think_s: float
    rng: random.Random
    round_trips: list[float] = field(default_factory=list)
    latencies: list[dict] = field(default_factory=list)  # the server's timings of each mask
    engines: set[str] = field(default_factory=set)
    sent: int = 0
    masks: int = 0
    dropped: int = 0
    errors: list[str] = field(default_factory=list)

    def run(self) -> None:
        ws_url = self.url.replace("http", "ws", 1)
        address = f"{ws_url}/ws/images/{self.session['image']}/annotate/?token={self.session['token']}"
        with connect(address, origin=self.url, max_size=2**23) as ws:
            json.loads(ws.recv())
            ws.send(json.dumps({"type": "start", "label": self.session["label"]}))
            json.loads(ws.recv())
            clicker = Clicker(self.truth, self.ignore)
            prediction = np.zeros_like(self.truth)
            clicks: list[dict] = []  # the client owns the click list and sends all of it (protocol v2)
            time.sleep(self.rng.uniform(0, self.think_s))  # people do not start in lockstep
            for seq in range(1, self.clicks + 1):
                click = clicker.next_click(prediction)
                if click is None:
                    break
                if seq > 1:
                    time.sleep(self.think_s * self.rng.uniform(0.5, 1.5))  # looking at the mask
                sent_at = time.perf_counter()
                clicks.append({"x": click.x, "y": click.y, "positive": click.positive})
                ws.send(json.dumps({"type": "clicks", "seq": seq, "clicks": clicks}))
                self.sent += 1
                reply = self.wait(ws, seq)
                if reply is None:
                    continue
                self.round_trips.append(time.perf_counter() - sent_at)
                self.latencies.append(reply["latency"])
                self.engines.add(reply.get("engine", ""))
                rle = {"size": reply["rle"]["size"], "counts": reply["rle"]["counts"].encode()}
                prediction = coco_mask.decode(rle).astype(bool)

    def wait(self, ws, seq: int) -> dict | None:
        while True:
            reply = json.loads(ws.recv(timeout=120))
            if reply.get("seq") != seq:
                continue
            if reply["type"] == "mask":
                self.masks += 1
                return reply
            if reply["type"] == "superseded":
                self.dropped += 1
            else:
                self.errors.append(reply.get("code", reply["type"]))
            return None


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--annotators", type=int, default=1)
    parser.add_argument("--clicks", type=int, default=10)
    parser.add_argument("--workers", type=int, default=1, help="Celery inference workers to start")
    parser.add_argument("--threads", type=int, help="INFERENCE_THREADS of each worker (default: every core)")
    parser.add_argument("--engine", help="INFERENCE_ENGINE of the workers (default: the one each chooses)")
    parser.add_argument("--dataset", default=str(REPO.parent / "shared" / "data" / "bench" / "grabcut"))
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/5")
    parser.add_argument("--url", help="target a running server instead of starting one")
    parser.add_argument("--token", action="append", help="with --url: one token per annotator")
    parser.add_argument("--image", type=int, action="append", help="with --url: one image id per annotator")
    parser.add_argument("--label", type=int, help="with --url: the label id")
    parser.add_argument("--think", type=float, default=1.0,
                        help="mean seconds between a mask and the next click (±50%%; 0: click at once)")  # fmt: skip
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", help="write the figures here")
    args = parser.parse_args()

    dataset = FolderDataset(args.dataset)
    samples = [dataset[i] for i in range(args.annotators)]
    stack = None
    if args.url:
        sessions = [{"image": i, "token": t, "label": args.label} for i, t in zip(args.image, args.token, strict=True)]
        url = args.url
    else:
        stack = LocalStack(args.workers, args.redis, args.threads, args.engine)
        url, sessions = stack.start([dataset.pairs[i][0] for i in range(args.annotators)])
    try:
        annotators = [Annotator(url, s, sample.mask, sample.ignore, args.clicks, args.think, random.Random(args.seed + i))
                      for i, (s, sample) in enumerate(zip(sessions, samples, strict=True))]  # fmt: skip
        threads = [threading.Thread(target=a.run) for a in annotators]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        if stack:
            stack.stop()

    firsts = [a.round_trips[0] for a in annotators if a.round_trips]
    later = [t for a in annotators for t in a.round_trips[1:]]
    timings = [(t, lat) for a in annotators for t, lat in zip(a.round_trips[1:], a.latencies[1:], strict=True)]
    sent = sum(a.sent for a in annotators)
    answered = sum(a.masks + a.dropped + len(a.errors) for a in annotators)

    def p50(values: list[float]) -> float:
        return round(percentile(values, 50), 4)

    figures = {
        "annotators": args.annotators,
        "clicks_per_annotator": args.clicks,
        "workers": args.workers if not args.url else None,
        "threads": args.threads,
        "engines": sorted({e for a in annotators for e in a.engines}),
        "think_s": args.think,
        "p50_s": p50(later),
        "p95_s": round(percentile(later, 95), 4),
        "first_click_p50_s": p50(firsts),
        "first_click_max_s": round(max(firsts), 4) if firsts else None,
        "network_p50_s": p50([lat.get("network_s", float("nan")) for _, lat in timings]),
        "predictor_p50_s": p50([lat["forward_s"] - lat.get("network_s", 0.0) for _, lat in timings]),
        "post_p50_s": p50([lat["post_s"] for _, lat in timings]),
        "load_p50_s": p50([lat["load_s"] for _, lat in timings]),
        "queue_p50_s": p50([lat["queue_s"] for _, lat in timings]),
        "transport_p50_s": p50([t - lat["total_s"] for t, lat in timings]),
        "dropped": sum(a.dropped for a in annotators),
        "lost": sent - answered,
        "errors": sorted({e for a in annotators for e in a.errors}),
        "clicks": sent,
    }
    print(json.dumps(figures, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2))
    return 0 if figures["lost"] == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
