"""One huge image and two annotators: what a click on it costs, and whether it holds up a click elsewhere.

    python bench/big_image.py --big /tmp/llama-12000.png [--mode embedded|team] [--repo PATH] [--json OUT]
    python bench/big_image.py --make-big /tmp/llama-12000.png --size 12000   # the test image: GrabCut's llama
                                                                              # upscaled (.png or .jpg)

Starts a stack of its own from --repo (default: this checkout; another worktree measures another version with
the same interpreter): a temporary SQLite database and media folder, daphne and, in team mode, Redis (database
--redis, flushed) and one Celery inference worker. Annotator B works on a GrabCut photo (one click first, so the
model is loaded); then annotator A opens the huge image and clicks at once (cold: nothing decoded, no working
copy yet), and B clicks on its photo 0.5 s later. Reported: A's first and second click round trips (or the
error), B's round trips, the IoU of A's polygons with the upscaled ground truth, the inference process's peak
RSS (VmHWM of daphne, or of the worker) before A and at the end; with --restart, the server is started again on
the same media and A's first click is timed once more (the working copy on disk, nothing in memory).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
from click_latency import SETUP_SCRIPT  # one annotator, project, label and image per photo
from websockets.sync.client import connect

REPO = Path(__file__).resolve().parents[1]
GRABCUT = REPO.parent / "shared" / "data" / "bench" / "grabcut"


def make_big(path: Path, size: int) -> None:
    from PIL import Image

    Image.MAX_IMAGE_PIXELS = None
    image = Image.open(GRABCUT / "images" / "llama.bmp").convert("RGB").resize((size, size), Image.BICUBIC)
    image.save(path, **({"quality": 90} if path.suffix.lower() in {".jpg", ".jpeg"} else {}))


@dataclass
class Stack:
    repo: Path
    team: bool
    redis_url: str
    timeout_s: int
    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="big-image-bench-")))
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)
    url: str = ""

    @property
    def env(self) -> dict:
        env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
        env.update(
            DATABASE_URL=f"sqlite:///{self.root / 'db.sqlite3'}",
            MEDIA_ROOT=str(self.root / "media"),
            INFERENCE_TIMEOUT_S=str(self.timeout_s),
            ALLOWED_HOSTS="127.0.0.1,localhost",
            PYTHONUNBUFFERED="1",
        )
        if self.team:
            env["REDIS_URL"] = self.redis_url
        return env

    def manage(self, *args: str, stdin: str = "") -> str:
        result = subprocess.run([sys.executable, "manage.py", *args], cwd=self.repo, env=self.env, input=stdin,
                                capture_output=True, text=True)  # fmt: skip
        if result.returncode:
            raise RuntimeError(result.stderr[-3000:])
        return result.stdout

    def spawn(self, name: str, args: list[str], ready: str) -> str:
        log = self.root / f"{name}.log"
        process = subprocess.Popen(args, cwd=self.repo, env=self.env, stdout=log.open("w"), stderr=subprocess.STDOUT,
                                   start_new_session=True)  # fmt: skip
        self.processes[name] = process
        deadline = time.time() + 180
        while ready not in (text := log.read_text(errors="replace")):
            if process.poll() is not None or time.time() > deadline:
                raise RuntimeError(f"{name} did not start; see {log}")
            time.sleep(0.2)
        return text

    def setup(self, photos: list[Path]) -> list[dict]:
        if self.team:
            import redis

            redis.Redis.from_url(self.redis_url).flushdb()
        self.manage("migrate", "--noinput")
        out = self.manage("shell", "-c", SETUP_SCRIPT, stdin=json.dumps([str(p) for p in photos]))
        return json.loads(out.split("BENCH", 1)[1])

    def start(self) -> None:
        text = self.spawn("daphne", [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", "0",
                                     "backend.config.asgi:application"], "Listening on TCP address")  # fmt: skip
        port = text.split("Listening on TCP address 127.0.0.1:", 1)[1].split()[0]
        self.url = f"http://127.0.0.1:{port}"
        if self.team:
            self.spawn("worker", [sys.executable, "-m", "celery", "-A", "backend.config", "worker", "-Q", "inference",
                                  "-P", "solo", "-n", "bench@%h", "--without-gossip", "--without-mingle",
                                  "--without-heartbeat", "-l", "INFO"], "ready.")  # fmt: skip

    @property
    def inference_pid(self) -> int:
        return self.processes["worker" if self.team else "daphne"].pid

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                os.killpg(process.pid, 9)
                process.wait(10)
        self.processes.clear()


def memory_mb(pid: int) -> dict:
    status = Path(f"/proc/{pid}/status").read_text()
    values = {line.split(":")[0]: int(line.split()[1]) for line in status.splitlines() if line.startswith("Vm")}
    return {"rss_mb": round(values["VmRSS"] / 1024), "peak_rss_mb": round(values["VmHWM"] / 1024)}


class Annotator:
    def __init__(self, url: str, session: dict) -> None:
        address = f"{url.replace('http', 'ws', 1)}/ws/images/{session['image']}/annotate/?token={session['token']}"
        self.ws = connect(address, origin=url, max_size=2**26, open_timeout=60).__enter__()  # open until the end
        self.session, self.seq, self.clicks = session, 0, []
        json.loads(self.ws.recv())  # ready
        self.ws.send(json.dumps({"type": "start", "label": session["label"]}))

    def click(self, x: float, y: float, positive: bool = True) -> tuple[float, dict]:
        """One more click: the whole list goes to the server (protocol v2); the round trip and its answer."""
        self.seq += 1
        self.clicks.append({"x": x, "y": y, "positive": positive})
        sent = time.perf_counter()
        self.ws.send(json.dumps({"type": "clicks", "seq": self.seq, "clicks": self.clicks}))
        while True:
            reply = json.loads(self.ws.recv(timeout=300))
            if reply.get("seq") == self.seq and reply["type"] in {"mask", "error"}:
                return round(time.perf_counter() - sent, 3), reply


def summary(seconds: float, reply: dict) -> dict:
    if reply["type"] == "error":
        return {"s": seconds, "error": reply["code"]}
    return {"s": seconds, "server_total_s": reply["latency"]["total_s"], "load_s": reply["latency"]["load_s"],
            "forward_s": reply["latency"]["forward_s"], "post_s": reply["latency"]["post_s"],
            "rle_size": reply["rle"]["size"], "area": reply["area"]}  # fmt: skip


def iou_with_truth(reply: dict, width: int, height: int, scale: int = 10) -> float | None:
    """IoU of the reply's polygons with llama's upscaled ground truth, both at 1/scale (enough to compare)."""
    if reply.get("type") != "mask":
        return None
    w, h = width // scale, height // scale
    drawn = np.zeros((h, w), np.uint8)
    for polygon in reply["polygons"]:
        region = np.zeros_like(drawn)
        cv2.fillPoly(region, [np.round(np.asarray(polygon["outer"]) / scale).astype(np.int32)], 1)
        for hole in polygon["holes"]:
            cv2.fillPoly(region, [np.round(np.asarray(hole) / scale).astype(np.int32)], 0)
        drawn |= region
    truth = cv2.imread(str(GRABCUT / "masks" / "llama.bmp"), cv2.IMREAD_GRAYSCALE)
    truth = cv2.resize(truth, (w, h), interpolation=cv2.INTER_NEAREST)
    keep = truth != 128
    mask, object_ = drawn.astype(bool), truth == 255
    return round(float((mask & object_ & keep).sum() / max(1, ((mask | object_) & keep).sum())), 4)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--big", type=Path, help="the huge image")
    parser.add_argument("--make-big", type=Path, help="write the test image here and exit")
    parser.add_argument("--size", type=int, default=12000)
    parser.add_argument("--small", type=Path, default=GRABCUT / "images" / "124080.jpg", help="annotator B's photo")
    parser.add_argument("--mode", choices=["embedded", "team"], default="embedded")
    parser.add_argument("--repo", type=Path, default=REPO, help="the checkout whose server to run")
    parser.add_argument("--timeout", type=int, default=20, help="INFERENCE_TIMEOUT_S")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/7")
    parser.add_argument("--restart", action="store_true", help="time A's first click again after a restart")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    if args.make_big:
        make_big(args.make_big, args.size)
        return 0

    stack = Stack(args.repo.resolve(), args.mode == "team", args.redis, args.timeout)
    figures: dict = {"repo": str(stack.repo), "mode": args.mode, "big": str(args.big), "timeout_s": args.timeout}
    try:
        b_session, a_session = stack.setup([args.small, args.big])
        stack.start()
        width, height = a_session["width"], a_session["height"]
        first, second = (250 * width / 513, 200 * height / 371), (60 * width / 513, 330 * height / 371)

        b = Annotator(stack.url, b_session)
        figures["b_warm_click"] = summary(*b.click(200, 150))
        figures["memory_before_a"] = memory_mb(stack.inference_pid)

        a = Annotator(stack.url, a_session)  # opening the image prepares it (embedded mode)
        b_result: dict = {}

        def b_clicks_meanwhile() -> None:
            time.sleep(0.5)
            b_result.update(summary(*b.click(260, 140)))

        thread = threading.Thread(target=b_clicks_meanwhile)
        thread.start()
        seconds, reply = a.click(*first)
        thread.join()
        figures["a_first_click"] = summary(seconds, reply) | {"iou_vs_truth": iou_with_truth(reply, width, height)}
        figures["b_click_0.5s_after_a"] = b_result
        figures["b_click_after_a_answered"] = summary(*b.click(220, 160))
        seconds, reply = a.click(*second, positive=False)
        figures["a_second_click"] = summary(seconds, reply) | {"iou_vs_truth": iou_with_truth(reply, width, height)}
        figures["memory_end"] = memory_mb(stack.inference_pid)
        working = stack.root / "media" / "working"
        figures["working_copies"] = sorted(f"{p.name} ({p.stat().st_size / 2**20:.1f} MB)" for p in working.glob("*"))
        if args.restart:
            stack.stop()
            stack.start()
            a = Annotator(stack.url, a_session)
            figures["after_restart_a_first_click"] = summary(*a.click(*first))
            figures["after_restart_memory"] = memory_mb(stack.inference_pid)
    finally:
        stack.stop()
    print(json.dumps(figures, indent=2))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
