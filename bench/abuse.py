"""What abusive requests cost the web process, and what they get back.

    python bench/abuse.py [--json OUT] [--max-upload-mib 1024] [--only CASE ...] [--repo PATH]

Starts its own server on 127.0.0.1, the embedded default (daphne, SQLite, in-process inference) in a temporary
EDGEFLOW_VAR_DIR and MEDIA_ROOT (the model registry linked from <repo>/var/models), with one manager, a project,
a label and an image made through `manage.py shell`. Every case runs against a fresh daphne process, so its
peak RSS (VmHWM of /proc/<pid>/status, which only grows) is that case's alone; the RSS after a warm-up request
is reported as the baseline. Each case is bounded (sizes, counts, timeouts) and the bench stops by itself.
--repo runs the server from another checkout (e.g. a `git worktree` of older code) with this bench.

Cases: a 1 GB zip bomb (10^9 zeros, deflated to ~1 MB), two of them in one request, a 200 MB file within the
limit, an upload above MAX_UPLOAD_BYTES, a 10^5-vertex polygon, 1000 websocket messages/s for 2 s, 30 failed
logins, and a 300 MB COCO import.
"""

from __future__ import annotations

import argparse
import collections
import http.client
import json
import math
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from websockets.sync.client import connect

REPO = Path(__file__).resolve().parents[1]
MiB = 1024 * 1024
PASSWORD = "abuse-bench-password"

SETUP_SCRIPT = """
import io, json
import numpy as np
from PIL import Image as PILImage
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.authtoken.models import Token
from backend.images.services import batches_create, images_upload
from backend.projects.services import label_create, member_add, project_create
owner = User.objects.create_user("abuse-admin")
manager = User.objects.create_user("abuse-manager", password=%(password)r)
project = project_create(name="Abuse bench", created_by=owner)
member_add(project=project, username=manager.username, role="manager")
label = label_create(project=project, name="object")
pixels = np.random.default_rng(0).integers(0, 255, (480, 640, 3), dtype=np.uint8)
buffer = io.BytesIO()
PILImage.fromarray(pixels).save(buffer, format="PNG")
image = images_upload(project=project, files=[SimpleUploadedFile("photo.png", buffer.getvalue())],
                      uploaded_by=manager).created[0]
batches_create(project=project, image_ids=[image.pk], assignee_id=manager.pk)
print("BENCH" + json.dumps({"project": project.pk, "image": image.pk, "label": label.pk,
                            "token": Token.objects.create(user=manager).key}))
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def proc_kib(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise KeyError(key)


@dataclass
class Server:
    repo: Path
    root: Path
    max_upload: int
    setup: dict = field(default_factory=dict)
    process: subprocess.Popen | None = None
    port: int = 0

    @property
    def env(self) -> dict:
        env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "MEDIA_ROOT"}}
        env.update(
            EDGEFLOW_VAR_DIR=str(self.root / "var"),
            DATABASE_URL=f"sqlite:///{self.root / 'db.sqlite3'}",
            MEDIA_ROOT=str(self.root / "media"),
            ALLOWED_HOSTS="127.0.0.1,localhost",
            MAX_UPLOAD_BYTES=str(self.max_upload),
            PYTHONUNBUFFERED="1",
        )
        return env

    def prepare(self) -> None:
        var = self.root / "var"
        var.mkdir(parents=True)
        models = REPO / "var" / "models"
        if models.is_dir():
            (var / "models").symlink_to(models)
        run = dict(cwd=self.repo, env=self.env, capture_output=True, text=True, check=True)
        subprocess.run([sys.executable, "manage.py", "migrate", "--noinput"], **run)
        out = subprocess.run([sys.executable, "manage.py", "shell", "-c", SETUP_SCRIPT % {"password": PASSWORD}], **run)
        self.setup = json.loads(out.stdout.split("BENCH", 1)[1])

    def start(self, name: str) -> None:
        self.port = free_port()
        log = self.root / f"daphne-{name}.log"
        args = [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(self.port),
                "backend.config.asgi:application"]  # fmt: skip
        self.process = subprocess.Popen(args, cwd=self.repo, env=self.env, stdout=log.open("w"),
                                        stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
        deadline = time.time() + 120
        while "Listening on TCP address" not in log.read_text(errors="replace"):
            if self.process.poll() is not None or time.time() > deadline:
                raise RuntimeError(f"daphne did not start; see {log}")
            time.sleep(0.2)
        status, _ = self.request("GET", "/api/projects/")  # load what every request needs before the baseline
        assert status == 200, status

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def rss_mib(self, key: str) -> float:
        return round(proc_kib(self.process.pid, key) / 1024, 1)

    def alive(self) -> bool:
        return self.process.poll() is None

    def request(
        self,
        method: str,
        path: str,
        body: Iterable[bytes] = (),
        length: int | None = 0,
        headers: dict[str, str] | None = None,
        timeout: float = 300,
        token: bool = True,
    ) -> tuple[int | str, bytes]:
        """One request on its own connection; the body stops as soon as the server answers or hangs up."""
        lines = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{self.port}", "Connection: close"]
        if token:
            lines.append(f"Authorization: Token {self.setup['token']}")
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        lines.append(f"Content-Length: {length}" if length is not None else "Transfer-Encoding: chunked")
        with socket.create_connection(("127.0.0.1", self.port), timeout=timeout) as sock:
            sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
            try:
                for chunk in body:
                    if select.select([sock], [], [], 0)[0]:
                        break  # answered (or closed) before the whole body was sent
                    sock.sendall(chunk if length is not None else b"%x\r\n%s\r\n" % (len(chunk), chunk))
                else:
                    if length is None:
                        sock.sendall(b"0\r\n\r\n")
            except (BrokenPipeError, ConnectionResetError):
                pass
            try:
                response = http.client.HTTPResponse(sock)
                response.begin()
                return response.status, response.read()
            except (ConnectionResetError, http.client.RemoteDisconnected) as exc:
                return f"connection lost ({type(exc).__name__})", b""


def zeros(size: int, chunk: int = MiB) -> Iterator[bytes]:
    block = bytes(chunk)
    for start in range(0, size, chunk):
        yield block[: min(chunk, size - start)]


def multipart(files: list[tuple[str, str, int, Callable[[], Iterator[bytes]]]]) -> tuple[Iterator[bytes], int, str]:
    """(field, file name, size, chunks) → streamed body, its length, its content type."""
    boundary = "abuse-bench-boundary"
    heads = [f'--{boundary}\r\nContent-Disposition: form-data; name="{f}"; filename="{n}"\r\n'
             "Content-Type: application/octet-stream\r\n\r\n" for f, n, _, _ in files]  # fmt: skip
    tail = f"--{boundary}--\r\n".encode()
    length = sum(len(h.encode()) + size + 2 for h, (_, _, size, _) in zip(heads, files, strict=True)) + len(tail)

    def body() -> Iterator[bytes]:
        for head, (_, _, _, chunks) in zip(heads, files, strict=True):
            yield head.encode()
            yield from chunks()
            yield b"\r\n"
        yield tail

    return body(), length, f"multipart/form-data; boundary={boundary}"


def file_chunks(path: Path) -> Callable[[], Iterator[bytes]]:
    def chunks() -> Iterator[bytes]:
        with path.open("rb") as handle:
            while chunk := handle.read(MiB):
                yield chunk

    return chunks


def zip_bomb(path: Path) -> Path:
    if not path.exists():
        with (
            zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive,
            archive.open("bomb.png", "w") as member,
        ):
            for chunk in zeros(10**9):
                member.write(chunk)
    return path


def coco_document(path: Path, size: int) -> Path:
    """A COCO document of about `size` bytes: many 100-vertex polygons on an image the project does not have."""
    if not path.exists():
        ring = ",".join(f"{320 + 150 * math.cos(t / 16):.3f},{240 + 150 * math.sin(t / 16):.3f}" for t in range(100))
        with path.open("w") as out:
            out.write('{"images":[{"id":1,"file_name":"elsewhere.png","width":640,"height":480}],')
            out.write('"categories":[{"id":1,"name":"thing"}],"annotations":[')
            index = 0
            while out.tell() < size:
                out.write(("," if index else "") + f'{{"id":{index + 1},"image_id":1,"category_id":1,"iscrowd":0,'
                          f'"bbox":[170,90,300,300],"area":70000,"segmentation":[[{ring}]]}}')  # fmt: skip
                index += 1
            out.write("]}")
    return path


def upload(server: Server, files) -> tuple[int | str, bytes]:
    body, length, content_type = multipart(files)
    return server.request("POST", f"/api/projects/{server.setup['project']}/images/", body, length,
                          {"Content-Type": content_type})  # fmt: skip


def short(reply: bytes) -> str:
    try:
        data = json.loads(reply)
    except ValueError:
        return reply[:120].decode(errors="replace")
    if isinstance(data, dict) and "error" in data:
        return f"{data['error']}: {str(data.get('detail', ''))[:160]}"
    if isinstance(data, dict) and "polygons" in data:
        return f"object {data.get('id')} created"
    if isinstance(data, dict) and isinstance(data.get("created"), list):
        return f"created {len(data['created'])}, duplicates {len(data.get('duplicates', []))}"
    return json.dumps(data)[:160]


# Each case: (status, detail) against a started server.
def case_zip_bomb(server: Server, cache: Path):
    bomb = zip_bomb(cache / "bomb.zip")
    status, reply = upload(server, [("files", "bomb.zip", bomb.stat().st_size, file_chunks(bomb))])
    return status, f"{bomb.stat().st_size:,}-byte zip of 10^9 zeros: {short(reply)}"


def case_two_zip_bombs(server: Server, cache: Path):
    bomb = zip_bomb(cache / "bomb.zip")
    files = [("files", f"bomb{i}.zip", bomb.stat().st_size, file_chunks(bomb)) for i in (1, 2)]
    status, reply = upload(server, files)
    return status, f"two zips of 10^9 zeros each: {short(reply)}"


def case_file_200mb(server: Server, cache: Path):
    status, reply = upload(server, [("files", "big.png", 200 * 10**6, lambda: zeros(200 * 10**6))])
    return status, f"one 200 MB file (zeros, within the limit): {short(reply)}"


def case_oversized_upload(server: Server, cache: Path):
    size = server.max_upload + 64 * MiB
    status, reply = upload(server, [("files", "huge.png", size, lambda: zeros(size))])
    return status, f"one {size:,}-byte file (MAX_UPLOAD_BYTES + 64 MiB): {short(reply)}"


def case_polygon_1e5(server: Server, cache: Path):
    count = 10**5
    ring = [[round(320 + 200 * math.cos(2 * math.pi * i / count), 3), round(240 + 200 * math.sin(2 * math.pi * i / count), 3)]
            for i in range(count)]  # fmt: skip
    body = json.dumps({"label": server.setup["label"], "polygons": [{"outer": ring, "holes": []}]}).encode()
    status, reply = server.request("POST", f"/api/images/{server.setup['image']}/objects/", [body], len(body),
                                   {"Content-Type": "application/json"})  # fmt: skip
    return status, f"POST of one {count:,}-vertex polygon ({len(body):,} bytes): {short(reply)}"


def case_websocket_flood(server: Server, cache: Path):
    url = f"ws://127.0.0.1:{server.port}/ws/images/{server.setup['image']}/annotate/?token={server.setup['token']}"
    replies: collections.Counter = collections.Counter()
    with connect(url, origin=f"http://127.0.0.1:{server.port}", max_size=2**23, open_timeout=60) as ws:
        first = json.loads(ws.recv(timeout=120))
        replies[first.get("type")] += 1
        started = time.perf_counter()
        for sent in range(2000):  # 1000 messages per second for 2 s
            ws.send(json.dumps({"type": "ping"}))
            time.sleep(max(0.0, started + (sent + 1) / 1000 - time.perf_counter()))
        while True:
            try:
                reply = json.loads(ws.recv(timeout=3))
            except TimeoutError:
                break
            replies[reply.get("code") or reply.get("type")] += 1
    status, _ = server.request("GET", "/api/projects/")
    counts = ", ".join(f"{k} {v}" for k, v in sorted(replies.items()))
    return f"alive {status}" if server.alive() else "dead", f"2000 pings in 2 s; replies: {counts}"


def case_failed_logins(server: Server, cache: Path):
    statuses: collections.Counter = collections.Counter()
    body = json.dumps({"username": "abuse-manager", "password": "wrong"}).encode()
    for _ in range(30):
        status, _ = server.request("POST", "/api/auth/token/", [body], len(body), {"Content-Type": "application/json"},
                                   token=False)  # fmt: skip
        statuses[status] += 1
    final = max(statuses, key=lambda s: (statuses[s], str(s)))
    return final, "30 wrong passwords: " + ", ".join(f"{k}×{v}" for k, v in sorted(statuses.items(), key=str))


def case_coco_import_300mb(server: Server, cache: Path):
    document = coco_document(cache / "coco-300mb.json", 300 * 10**6)
    body, length, content_type = multipart([("file", "instances.json", document.stat().st_size, file_chunks(document))])
    status, reply = server.request("POST", f"/api/projects/{server.setup['project']}/import", body, length,
                                   {"Content-Type": content_type})  # fmt: skip
    return status, f"{document.stat().st_size:,}-byte COCO document: {short(reply)}"


CASES = {
    "zip_bomb": case_zip_bomb,
    "two_zip_bombs": case_two_zip_bombs,
    "file_200mb": case_file_200mb,
    "oversized_upload": case_oversized_upload,
    "polygon_1e5": case_polygon_1e5,
    "websocket_flood": case_websocket_flood,
    "failed_logins": case_failed_logins,
    "coco_import_300mb": case_coco_import_300mb,
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", help="write the figures here")
    parser.add_argument(
        "--max-upload-mib",
        type=int,
        default=1024,
        help="MAX_UPLOAD_BYTES of the server (default 1024, the shipped default)",
    )
    parser.add_argument("--only", nargs="+", choices=list(CASES), help="run these cases only")
    parser.add_argument("--repo", type=Path, default=REPO, help="checkout to run the server from (default: this one)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (database, media, inputs)")
    parser.add_argument("--label", default="", help="what the server's code is, for the JSON (e.g. 'before the fix')")
    args = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="abuse-bench-"))
    try:
        figures = run(args, root)
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)  # the inputs alone are ~300 MB
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2) + "\n")
    return 0


def run_case(server: Server, name: str, cache: Path) -> dict:
    server.start(name)
    try:
        baseline = server.rss_mib("VmHWM")
        started = time.perf_counter()
        try:
            status, detail = CASES[name](server, cache)
        except Exception as exc:  # noqa: BLE001 - a case that breaks is a finding, reported as such
            status, detail = "failed", f"{type(exc).__name__}: {exc}"[:300]
        seconds = round(time.perf_counter() - started, 2)
        peak = server.rss_mib("VmHWM") if server.alive() else None
        if not server.alive():
            detail += f" (server died: exit {server.process.returncode})"
    finally:
        server.stop()
    return {"name": name, "status": status, "seconds": seconds, "peak_rss_mb": peak, "baseline_rss_mb": baseline,
            "detail": detail}  # fmt: skip


def run(args: argparse.Namespace, root: Path) -> dict:
    cache = root / "inputs"
    cache.mkdir()
    server = Server(args.repo.resolve(), root, args.max_upload_mib * MiB)
    server.prepare()
    commit = subprocess.run(["git", "describe", "--always", "--dirty"], cwd=server.repo, capture_output=True,
                            text=True).stdout.strip()  # fmt: skip
    print(f"server: {server.repo} ({commit}); limits: MAX_UPLOAD_BYTES={server.max_upload:,}, others at defaults")
    print(f"{'case':<20}{'status':>12}{'seconds':>10}{'baseline MB':>13}{'peak MB':>10}  detail")
    results = []
    for name in args.only or list(CASES):
        row = run_case(server, name, cache)
        results.append(row)
        print(f"{name:<20}{row['status']!s:>12}{row['seconds']:>10}{row['baseline_rss_mb']:>13}"
              f"{row['peak_rss_mb']!s:>10}  {row['detail']}", flush=True)  # fmt: skip
    return {
        "server": {"repo": str(server.repo), "commit": commit, "label": args.label},
        "limits": {"MAX_UPLOAD_BYTES": server.max_upload},
        "rss": "a fresh daphne per case; peak_rss_mb = VmHWM after the case (MiB), baseline_rss_mb = VmHWM after "
        "one warm-up GET",
        "cases": results,
        "max_peak_rss_mb": max((r["peak_rss_mb"] or 0) for r in results),
    }


if __name__ == "__main__":
    raise SystemExit(main())
