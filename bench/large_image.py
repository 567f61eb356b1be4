"""A gigapixel image end to end: streaming ingest, first tile, and clicks on it against the same clicks on 1 Mpx.

    python bench/large_image.py --size 20000x20000 --json OUT [--mode team|embedded] [--clicks 6]

Makes GrabCut's llama upscaled to --size (libvips, streaming; a JPEG) and the same picture at about 1 Mpx, starts
a stack of its own (temporary SQLite database and media folder, daphne and, in team mode, Redis database --redis
(flushed) and one Celery inference worker), uploads both through the API as a manager and times:

- ``ingest_s``: the upload request of the large image (transfer, streaming check, tile pyramid, thumbnail);
  ``ingest_peak_rss_mb``: the web process's peak RSS (VmHWM) after it (its baseline before: ``web_rss_before_mb``);
- ``first_tile_s``: the image's detail, then the first tile of the level a 1280×720 view of the whole image shows
  (cold), as the workspace asks for them; ``fit_view_tiles_s``: every tile of that view, one after the other;
- clicks: an annotator's websocket, ``--clicks`` clicks on the llama, each where the current mask is most wrong
  (the NoC protocol's rule, against the upscaled ground truth), the same clicks (scaled) on both images;
  ``click_p50_s`` / ``click_p50_small_s`` are the medians of the round trips after the first (the first, which may
  build the working copy, is ``first_click_s`` / ``first_click_small_s``); ``iou`` / ``iou_small`` the final IoU;
- ``worker_peak_rss_mb``: the inference process's peak RSS at the end (the Celery worker in team mode).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
from websockets.sync.client import connect

REPO = Path(__file__).resolve().parents[1]
GRABCUT = REPO.parent / "shared" / "data" / "bench" / "grabcut"

SETUP_SCRIPT = """
import json
from django.contrib.auth.models import User
from rest_framework.authtoken.models import Token
from backend.projects.services import label_create, member_add, project_create
manager = User.objects.create_user("bench-manager")
annotator = User.objects.create_user("bench-annotator")
project = project_create(name="Large image bench", created_by=manager)
member_add(project=project, username="bench-annotator", role="annotator")
label = label_create(project=project, name="object")
print("BENCH" + json.dumps({"project": project.pk, "label": label.pk, "annotator": annotator.pk,
      "manager_token": Token.objects.create(user=manager).key,
      "annotator_token": Token.objects.create(user=annotator).key}))
"""


def make_llama(path: Path, width: int, height: int) -> None:
    """GrabCut's llama resized to width×height, written streaming (libvips), JPEG quality 90."""
    import pyvips
    from PIL import Image

    pixels = np.ascontiguousarray(np.asarray(Image.open(GRABCUT / "images" / "llama.bmp").convert("RGB")))
    source = pyvips.Image.new_from_memory(pixels.tobytes(), pixels.shape[1], pixels.shape[0], 3, "uchar")
    resized = source.resize(width / source.width, vscale=height / source.height, kernel="linear")
    resized = resized.crop(0, 0, width, height) if (resized.width, resized.height) != (width, height) else resized
    resized.write_to_file(f"{path}[Q=90]")


def truth_at(width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
    mask = cv2.imread(str(GRABCUT / "masks" / "llama.bmp"), cv2.IMREAD_GRAYSCALE)
    mask = cv2.resize(mask, (width, height), interpolation=cv2.INTER_NEAREST)
    return mask == 255, mask == 128


def drawn(polygons: list, width: int, height: int, scale: float) -> np.ndarray:
    out = np.zeros((height, width), np.uint8)
    for polygon in polygons:
        region = np.zeros_like(out)
        cv2.fillPoly(region, [np.round(np.asarray(polygon["outer"]) * scale).astype(np.int32)], 1)
        for hole in polygon["holes"]:
            cv2.fillPoly(region, [np.round(np.asarray(hole) * scale).astype(np.int32)], 0)
        out |= region
    return out.astype(bool)


def next_click(predicted: np.ndarray, truth: np.ndarray, ignore: np.ndarray) -> tuple[float, float, bool]:
    """Where the mask is most wrong (deepest inside the larger error), in the compared grid's pixels."""
    missed, extra = truth & ~predicted & ~ignore, predicted & ~truth & ~ignore
    depth = {kind: cv2.distanceTransform(np.pad(m, 1).astype(np.uint8), cv2.DIST_L2, 5)[1:-1, 1:-1]
             for kind, m in (("missed", missed), ("extra", extra))}  # fmt: skip
    positive = depth["missed"].max() >= depth["extra"].max()
    row, col = np.unravel_index(np.argmax(depth["missed" if positive else "extra"]), truth.shape)
    return float(col), float(row), bool(positive)


def iou(a: np.ndarray, b: np.ndarray, ignore: np.ndarray) -> float:
    return round(float((a & b & ~ignore).sum() / max(1, ((a | b) & ~ignore).sum())), 4)


@dataclass
class Stack:
    team: bool
    redis_url: str
    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="large-image-bench-")))
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)
    url: str = ""

    @property
    def env(self) -> dict:
        env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
        env.update(DATABASE_URL=f"sqlite:///{self.root / 'db.sqlite3'}", MEDIA_ROOT=str(self.root / "media"),
                   ALLOWED_HOSTS="127.0.0.1,localhost", PYTHONUNBUFFERED="1", INFERENCE_TIMEOUT_S="60")  # fmt: skip
        if self.team:
            env["REDIS_URL"] = self.redis_url
        return env

    def manage(self, *args: str) -> str:
        result = subprocess.run([sys.executable, "manage.py", *args], cwd=REPO, env=self.env, capture_output=True,
                                text=True)  # fmt: skip
        if result.returncode:
            raise RuntimeError(result.stderr[-3000:])
        return result.stdout

    def spawn(self, name: str, args: list[str], ready: str) -> str:
        log = self.root / f"{name}.log"
        process = subprocess.Popen(args, cwd=REPO, env=self.env, stdout=log.open("w"), stderr=subprocess.STDOUT,
                                   start_new_session=True)  # fmt: skip
        self.processes[name] = process
        deadline = time.time() + 180
        while ready not in (text := log.read_text(errors="replace")):
            if process.poll() is not None or time.time() > deadline:
                raise RuntimeError(f"{name} did not start; see {log}")
            time.sleep(0.2)
        return text

    def start(self) -> dict:
        if self.team:
            import redis

            redis.Redis.from_url(self.redis_url).flushdb()
        self.manage("migrate", "--noinput")
        ids = json.loads(self.manage("shell", "-c", SETUP_SCRIPT).split("BENCH", 1)[1])
        text = self.spawn("daphne", [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", "0",
                                     "backend.config.asgi:application"], "Listening on TCP address")  # fmt: skip
        self.url = f"http://127.0.0.1:{text.split('Listening on TCP address 127.0.0.1:', 1)[1].split()[0]}"
        if self.team:
            self.spawn("worker", [sys.executable, "-m", "celery", "-A", "backend.config", "worker", "-Q", "inference",
                                  "-P", "solo", "-n", "bench@%h", "--without-gossip", "--without-mingle",
                                  "--without-heartbeat", "-l", "INFO"], "ready.")  # fmt: skip
        return ids

    def pid(self, name: str) -> int:
        return self.processes[name].pid

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                os.killpg(process.pid, 9)
                process.wait(10)


def rss_mb(pid: int) -> dict:
    status = Path(f"/proc/{pid}/status").read_text()
    values = {line.split(":")[0]: int(line.split()[1]) for line in status.splitlines() if line.startswith("Vm")}
    return {"rss_mb": round(values["VmRSS"] / 1024), "peak_rss_mb": round(values["VmHWM"] / 1024)}


def http(method: str, url: str, token: str, body: bytes | None = None, content_type: str = "") -> bytes:
    request = urllib.request.Request(url, data=body, method=method, headers={"Authorization": f"Token {token}"})
    if content_type:
        request.add_header("Content-Type", content_type)
    with urllib.request.urlopen(request, timeout=600) as response:
        return response.read()


def upload(stack: Stack, ids: dict, path: Path) -> tuple[dict, float]:
    boundary = uuid.uuid4().hex
    body = (f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="{path.name}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n").encode() + path.read_bytes() + f"\r\n--{boundary}--\r\n".encode()  # fmt: skip
    started = time.perf_counter()
    reply = http("POST", f"{stack.url}/api/projects/{ids['project']}/images/", ids["manager_token"], body,
                 f"multipart/form-data; boundary={boundary}")  # fmt: skip
    seconds = time.perf_counter() - started
    image = json.loads(reply)["created"][0]
    batch = json.dumps({"image_ids": [image["id"]], "assignee_id": ids["annotator"]}).encode()
    http("POST", f"{stack.url}/api/projects/{ids['project']}/batches/", ids["manager_token"], batch, "application/json")
    return image, seconds


def first_tiles(stack: Stack, ids: dict, image: dict) -> dict:
    """The detail, then the tiles a 1280×720 view of the whole image shows, as the workspace asks for them."""
    token = ids["manager_token"]
    started = time.perf_counter()
    detail = json.loads(http("GET", f"{stack.url}/api/images/{image['id']}/", token))
    tiles = detail["tiles"]
    width, height, size, top = detail["width"], detail["height"], tiles["tile_size"], tiles["levels"] - 1
    scale = min(1248 / width, 688 / height)
    level = next(lv for lv in range(top + 1) if 2 ** (lv - top) >= scale)
    level_w, level_h = -(-width // 2 ** (top - level)), -(-height // 2 ** (top - level))
    urls = [tiles["url"].format(level=level, col=c, row=r)
            for r in range(-(-level_h // size)) for c in range(-(-level_w // size))]  # fmt: skip
    first = http("GET", stack.url + urls[0], token)
    first_s = time.perf_counter() - started
    for url in urls[1:]:
        http("GET", stack.url + url, token)
    return {"first_tile_s": round(first_s, 3), "fit_view_tiles_s": round(time.perf_counter() - started, 3),
            "fit_view_level": level, "fit_view_tiles": len(urls), "first_tile_bytes": len(first)}  # fmt: skip


def click_through(stack: Stack, ids: dict, image: dict, clicks: int) -> dict:
    """``clicks`` clicks, each where the mask is most wrong; round trips and the final IoU."""
    width, height = image["width"], image["height"]
    scale = min(1.0, 1000 / max(width, height))  # compared on a grid of about 1000 px
    grid_w, grid_h = round(width * scale), round(height * scale)
    truth, ignore = truth_at(grid_w, grid_h)
    address = f"{stack.url.replace('http', 'ws', 1)}/ws/images/{image['id']}/annotate/?token={ids['annotator_token']}"
    seconds, sent, predicted, reply = [], [], np.zeros_like(truth), {}
    with connect(address, origin=stack.url, max_size=2**28, open_timeout=60) as ws:
        json.loads(ws.recv())  # ready
        ws.send(json.dumps({"type": "start", "label": ids["label"]}))
        for seq in range(1, clicks + 1):
            x, y, positive = next_click(predicted, truth, ignore)
            sent.append({"x": min(width - 1, round((x + 0.5) / scale - 0.5)),
                         "y": min(height - 1, round((y + 0.5) / scale - 0.5)), "positive": positive})  # fmt: skip
            started = time.perf_counter()
            ws.send(json.dumps({"type": "clicks", "seq": seq, "clicks": sent}))
            while True:
                reply = json.loads(ws.recv(timeout=300))
                if reply.get("seq") == seq and reply["type"] in {"mask", "error"}:
                    break
            seconds.append(round(time.perf_counter() - started, 3))
            if reply["type"] == "error":
                raise RuntimeError(f"click {seq}: {reply}")
            predicted = drawn(reply["polygons"], grid_w, grid_h, scale)
    return {"seconds": seconds, "clicks": sent, "iou": iou(predicted, truth, ignore),
            "last_latency": reply.get("latency"), "mask_size": reply["rle"]["size"]}  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", default="20000x20000", help="WIDTHxHEIGHT of the large image")
    parser.add_argument("--mode", choices=["team", "embedded"], default="team")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/7", help="team mode's Redis (flushed)")
    parser.add_argument("--clicks", type=int, default=6)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--keep", action="store_true", help="keep the stack's folder (images, media, logs)")
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.lower().split("x"))
    small_scale = (1_000_000 / (width * height)) ** 0.5
    stack = Stack(args.mode == "team", args.redis)
    big_path, small_path = stack.root / f"llama-{width}x{height}.jpg", stack.root / "llama-1mpx.jpg"
    started = time.perf_counter()
    make_llama(big_path, width, height)
    make_llama(small_path, round(width * small_scale), round(height * small_scale))
    figures: dict = {"size": [width, height], "mode": args.mode, "make_image_s": round(time.perf_counter() - started, 1),
                     "file_mb": round(big_path.stat().st_size / 2**20, 1), "cpu": cpu_name(), "cores": os.cpu_count(),
                     "python": platform.python_version()}  # fmt: skip
    try:
        ids = stack.start()
        inference = "worker" if stack.team else "daphne"
        small, _ = upload(stack, ids, small_path)
        figures["web_rss_before_mb"] = rss_mb(stack.pid("daphne"))["peak_rss_mb"]
        big, ingest_s = upload(stack, ids, big_path)
        figures["ingest_s"] = round(ingest_s, 2)
        figures["ingest_peak_rss_mb"] = rss_mb(stack.pid("daphne"))["peak_rss_mb"]
        figures.update(first_tiles(stack, ids, big))
        small_run = click_through(stack, ids, small, args.clicks)  # first: the model loads here
        big_run = click_through(stack, ids, big, args.clicks)
        small_again = click_through(stack, ids, small, args.clicks)  # warm, for a fair comparison
        figures["first_click_s"], figures["first_click_small_s"] = big_run["seconds"][0], small_again["seconds"][0]
        figures["click_p50_s"] = statistics.median(big_run["seconds"][1:])
        figures["click_p50_small_s"] = statistics.median(small_again["seconds"][1:])
        figures["click_ratio"] = round(figures["click_p50_s"] / figures["click_p50_small_s"], 2)
        figures["iou"], figures["iou_small"] = big_run["iou"], small_again["iou"]
        figures["worker_peak_rss_mb"] = rss_mb(stack.pid(inference))["peak_rss_mb"]
        figures["runs"] = {"large": big_run, "small_cold": small_run, "small": small_again}
        figures["tiles_mb"] = round(sum(f.stat().st_size for f in (stack.root / "media" / "tiles").rglob("*") if f.is_file()) / 2**20, 1)  # fmt: skip
    finally:
        stack.stop()
        if not args.keep:
            shutil.rmtree(stack.root, ignore_errors=True)
    print(json.dumps(figures, indent=2))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
    return 0


def cpu_name() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor()


if __name__ == "__main__":
    raise SystemExit(main())
