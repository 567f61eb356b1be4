"""An export job on generated data: how long it takes, the exporting process's peak memory, the archive's size, and
how fast the API answers meanwhile.

    python bench/export.py --images 10000 --objects 10 --format coco|voc|... [--no-images] [--json OUT]
                           [--backend process|local] [--database-url URL] [--keep]

Like bench/abuse.py, it starts its own server on 127.0.0.1 — the embedded default (daphne; each export job in a
child process of the server, or with --backend local in a thread of the server itself) — in a temporary EDGEFLOW_VAR_DIR and MEDIA_ROOT, on a throwaway
SQLite database (or --database-url, e.g. an empty Postgres database). The project is generated through
`manage.py shell`: one 640×480 JPEG uploaded through the service, its K objects drawn through the service
(polygons of 12–40 vertices, one with a hole, sizes from a few pixels to a third of the image), then N images
(each its own file) and N×K objects copied from those rows in bulk.

It then starts the export (POST /api/projects/{id}/exports/) and, until the job is done, calls the API as a page
would (the job's status every 0.5 s, the project and its image list in a loop), recording each call's latency.
Printed (and written with --json): `seconds` (the job's started→finished), `peak_rss_mb` (the peak resident memory
of the process that ran the export, MiB: the child's, from the server's log line about it, or the server's VmHWM),
`server_peak_rss_mb` and `baseline_rss_mb` (the server's VmHWM after and before the export), `archive_mb` (MiB), `api_p95_s`, `api_max_s`, `api_calls`.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import statistics
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from abuse import REPO, Server  # noqa: E402 - the same throwaway server

SETUP_SCRIPT = """
import hashlib, io, json, math, os, shutil
import numpy as np
from PIL import Image as PILImage
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.authtoken.models import Token
from backend.annotations.models import AnnotationObject
from backend.annotations.services import object_create
from backend.images.models import Image
from backend.images.services import images_upload
from backend.projects.services import label_create, member_add, project_create
N, K = %(images)d, %(objects)d
rng = np.random.default_rng(0)
owner = User.objects.create_user("export-admin")
manager = User.objects.create_user("export-manager")
project = project_create(name="Export bench", created_by=owner)
member_add(project=project, username=manager.username, role="manager")
labels = [label_create(project=project, name=f"class {i}") for i in range(5)]
y, x = np.mgrid[0:480, 0:640]
pixels = np.stack([(x * 0.4) %% 256, (y * 0.5) %% 256, ((x + y) * 0.3) %% 256], -1).astype(np.uint8)
pixels = np.clip(pixels + rng.integers(0, 24, pixels.shape), 0, 255).astype(np.uint8)
buffer = io.BytesIO()
PILImage.fromarray(pixels).save(buffer, format="JPEG", quality=85)
template = images_upload(project=project, files=[SimpleUploadedFile("img_00000.jpg", buffer.getvalue())],
                         uploaded_by=manager).created[0]
def ring(cx, cy, r, n):
    return [[round(cx + r * (0.7 + 0.3 * math.sin(3 * a)) * math.cos(a), 1),
             round(cy + r * (0.7 + 0.3 * math.sin(3 * a)) * math.sin(a), 1)]
            for a in (2 * math.pi * i / n for i in range(n))]
for k in range(K):
    r = float(rng.uniform(3, 160)) if k else 120.0
    cx, cy = float(rng.uniform(r, 640 - r)), float(rng.uniform(r, 480 - r))
    holes = [ring(cx, cy, r / 3, 12)] if k == 0 else []
    object_create(image=template, author=manager, label_id=labels[k %% 5].pk,
                  polygons=[{"outer": ring(cx, cy, r, int(rng.integers(12, 41))), "holes": holes}])
objects = list(AnnotationObject.objects.filter(image=template).order_by("id"))
source = template.file.path
images = []
for i in range(1, N):
    name = f"bench/img_{i:05d}.jpg"
    path = os.path.join(template.file.storage.location, name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    shutil.copyfile(source, path)
    images.append(Image(project=project, file=name, thumbnail=template.thumbnail.name, original_name=f"img_{i:05d}.jpg",
                        width=template.width, height=template.height, format=template.format,
                        size_bytes=template.size_bytes, sha256=hashlib.sha256(str(i).encode()).hexdigest(),
                        uploaded_by=manager, next_object_number=K + 1))
    if len(images) == 1000 or i == N - 1:
        created = Image.objects.bulk_create(images)
        AnnotationObject.objects.bulk_create(
            [AnnotationObject(image=image, number=o.number, label_id=o.label_id, mask_rle=o.mask_rle,
                              polygons=o.polygons, bbox=o.bbox, area=o.area, coco=o.coco, author=manager,
                              source=o.source)
             for image in created for o in objects], batch_size=5000)
        images = []
print("BENCH" + json.dumps({"project": project.pk, "token": Token.objects.create(user=manager).key,
                            "images": Image.objects.filter(project=project).count(),
                            "objects": AnnotationObject.objects.filter(image__project=project).count()}))
"""


class ExportServer(Server):
    def __init__(self, root: Path, database_url: str, images: int, objects: int, backend: str) -> None:
        super().__init__(repo=REPO, root=root, max_upload=1024**3)
        self.database_url, self.images, self.objects, self.backend = database_url, images, objects, backend

    @property
    def env(self) -> dict:
        env = super().env
        env.pop("EXPORTS_DIR", None)
        env["EXPORTS_BACKEND"] = self.backend
        if self.database_url:
            env["DATABASE_URL"] = self.database_url
        return env

    def prepare(self) -> None:
        import subprocess

        (self.root / "var").mkdir(parents=True)
        run = dict(cwd=self.repo, env=self.env, capture_output=True, text=True, check=True)
        subprocess.run([sys.executable, "manage.py", "migrate", "--noinput"], **run)
        script = SETUP_SCRIPT % {"images": self.images, "objects": self.objects}
        out = subprocess.run([sys.executable, "manage.py", "shell", "-c", script], **run)
        self.setup = json.loads(out.stdout.split("BENCH", 1)[1])

    def child_peak_mib(self, job_id: int) -> float:
        """The peak memory of the child process that ran ``job_id``, as the server logs it once the child is reaped."""
        pattern = re.compile(rf"export job {job_id}: child process .*peak_rss_mib=([0-9.]+)")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            found = pattern.search((self.root / "daphne-export.log").read_text(errors="replace"))
            if found:
                return float(found.group(1))
            time.sleep(0.2)
        raise RuntimeError(f"the server never logged the end of export {job_id}'s child process")


class Caller:
    """Calls the API in a loop (the project, a page of its images) while the export runs; each call's latency."""

    def __init__(self, server: ExportServer) -> None:
        self.server, self.latencies, self.stop = server, [], threading.Event()
        project = server.setup["project"]
        self.paths = [f"/api/projects/{project}/", f"/api/projects/{project}/images/?page_size=50"]
        self.thread = threading.Thread(target=self.run, daemon=True)

    def call(self, path: str) -> dict | list:
        started = time.monotonic()
        status, body = self.server.request("GET", path, timeout=120)
        self.latencies.append(time.monotonic() - started)
        assert status == 200, (path, status, body[:300])
        return json.loads(body)

    def run(self) -> None:
        while not self.stop.is_set():
            for path in self.paths:
                self.call(path)
            self.stop.wait(0.1)


def measure(server: ExportServer, fmt: str, include_images: bool) -> dict:
    baseline = server.rss_mib("VmHWM")
    body = json.dumps({"format": fmt, "images": include_images}).encode()
    status, reply = server.request("POST", f"/api/projects/{server.setup['project']}/exports/", [body], len(body),
                                   {"Content-Type": "application/json"})  # fmt: skip
    assert status == 202, (status, reply[:500])
    job_id = json.loads(reply)["id"]
    caller = Caller(server)
    caller.thread.start()
    while True:
        job = caller.call(f"/api/exports/{job_id}/")
        if job["status"] in ("succeeded", "failed"):
            break
        time.sleep(0.5)
    caller.stop.set()
    caller.thread.join(120)
    assert job["status"] == "succeeded", job["error"]
    seconds = datetime.fromisoformat(job["finished_at"]) - datetime.fromisoformat(job["started_at"])
    latencies = sorted(caller.latencies)
    return {
        "format": fmt,
        "images": server.setup["images"],
        "objects": server.setup["objects"],
        "include_images": include_images,
        "seconds": round(seconds.total_seconds(), 2),
        "backend": server.backend,
        "peak_rss_mb": server.child_peak_mib(job_id) if server.backend == "process" else server.rss_mib("VmHWM"),
        "server_peak_rss_mb": server.rss_mib("VmHWM"),
        "baseline_rss_mb": baseline,
        "archive_mb": round(job["size"] / 1024**2, 1),
        "api_p95_s": round(statistics.quantiles(latencies, n=20, method="inclusive")[-1], 3)
        if len(latencies) > 1
        else latencies[0],
        "api_max_s": round(latencies[-1], 3),
        "api_calls": len(latencies),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=1000)
    parser.add_argument("--objects", type=int, default=10, help="objects per image")
    parser.add_argument("--format", default="coco")
    parser.add_argument("--no-images", action="store_true", help="export the annotations only")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--backend", choices=["process", "local"], default="process",
                        help="run the job in a child process (the default) or in a thread of the server")  # fmt: skip
    parser.add_argument("--database-url", default="", help="an empty database to use instead of SQLite")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (its path is printed)")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="export-bench-"))
    server = ExportServer(root, args.database_url, args.images, args.objects, args.backend)
    try:
        started = time.monotonic()
        server.prepare()
        print(f"generated {server.setup['images']} images, {server.setup['objects']} objects "
              f"in {time.monotonic() - started:.0f} s", file=sys.stderr)  # fmt: skip
        server.start("export")
        result = measure(server, args.format, not args.no_images)
    finally:
        server.stop()
        if args.keep:
            print(f"kept {root}", file=sys.stderr)
        else:
            shutil.rmtree(root, ignore_errors=True)
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
