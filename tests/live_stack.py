"""A live stack for tests: daphne (+ Redis + Celery inference workers in team mode) with the real model.

The servers are separate processes reading the pytest-django test database, so tests that talk to them use
`transactional_db` (their data is committed) and store uploads in the stack's media folder.
"""

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import redis
from django.db import connection

from tests.conftest import REPO_DIR, SHARED_DIR
from tests.waiting import wait_until

# Database 3 by default; TEST_REDIS_DB lets two suites run side by side on one Redis without flushing each other.
TEST_REDIS_URL = (
    os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0").rsplit("/", 1)[0]
    + "/"
    + os.environ.get("TEST_REDIS_DB", "3")
)
GRABCUT = SHARED_DIR / "data" / "bench" / "grabcut"


def database_url() -> str:
    s = connection.settings_dict
    if s["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{s['NAME']}"
    return f"postgres://{s['USER']}:{s['PASSWORD']}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


@dataclass
class Process:
    name: str
    popen: subprocess.Popen
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_for_log(self, text: str, timeout: float = 60, count: int = 1) -> str:
        """The log once it holds ``text`` (``count`` times): a line the process writes after what the test saw."""

        def written() -> str | None:
            log = self.output()
            if log.count(text) >= count:
                return log
            if self.popen.poll() is not None:
                raise RuntimeError(f"{self.name} exited ({self.popen.returncode}):\n{log[-4000:]}")
            return None

        return wait_until(written, timeout=timeout, what=f"{text!r} in {self.name}'s log", details=self.tail)

    def tail(self) -> str:
        return f"{self.name}'s log ({self.log}):\n{self.output()[-4000:]}"

    def kill(self) -> None:
        if self.popen.poll() is None:
            os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(10)


@dataclass
class Stack:
    url: str
    ws_url: str
    env: dict
    logs: Path
    workers: list[Process] = field(default_factory=list)
    processes: list[Process] = field(default_factory=list)

    def start(self, name: str, args: list[str], ready: str, timeout: float = 90) -> Process:
        log = self.logs / f"{name}.log"
        handle = log.open("w")
        popen = subprocess.Popen(
            args, cwd=REPO_DIR, env=self.env, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True
        )
        process = Process(name, popen, log)
        self.processes.append(process)
        process.wait_for_log(ready, timeout)
        return process

    def start_daphne(self, name: str) -> Process:
        """Daphne on a port the OS picks when it binds (no window in which another process can take it)."""
        args = [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", "0", "backend.config.asgi:application"]
        daphne = self.start(name, args, ready="Listening on TCP address")
        port = re.search(r"Listening on TCP address 127\.0\.0\.1:(\d+)", daphne.output()).group(1)
        self.url, self.ws_url = f"http://127.0.0.1:{port}", f"ws://127.0.0.1:{port}"
        return daphne

    def start_worker(self, name: str, queue: str = "inference") -> Process:
        args = [sys.executable, "-m", "celery", "-A", "backend.config", "worker", "-Q", queue, "-P", "solo",
                "-n", f"{name}@%h", "--without-gossip", "--without-mingle", "--without-heartbeat", "-l", "INFO"]  # fmt: skip
        worker = self.start(name, args, ready="ready.")
        self.workers.append(worker)
        return worker

    def stop(self) -> None:
        for process in reversed(self.processes):
            process.kill()


def run_stack(tmp_path_factory, *, team: bool, workers: int, extra_env: dict | None = None) -> Iterator[Stack]:
    media = tmp_path_factory.mktemp("stack-media")
    # one folder per stack, so a later stack's logs do not overwrite an earlier one's
    logs = Path(os.environ.get("TEST_ARTIFACTS_DIR", REPO_DIR / "test-artifacts")) / "stack-logs" / media.name
    logs.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "DJANGO_ALLOW_ASYNC_UNSAFE"}}
    env.update(
        DATABASE_URL=database_url(),
        MEDIA_ROOT=str(media),
        INFERENCE_TIMEOUT_S=os.environ.get("TEST_INFERENCE_TIMEOUT_S", "15"),
        LOG_LEVEL="INFO",
    )
    env.update(ALLOWED_HOSTS="127.0.0.1,localhost", PYTHONUNBUFFERED="1")
    env.update(extra_env or {})
    if team:
        env["REDIS_URL"] = TEST_REDIS_URL
        redis.Redis.from_url(TEST_REDIS_URL).flushdb()
    stack = Stack("", "", env, logs)  # the addresses are known once daphne listens
    try:
        stack.start_daphne("daphne-team" if team else "daphne-embedded")
        for index in range(workers):
            stack.start_worker(f"worker{index + 1}")
        stack.media = media
        yield stack
    finally:
        stack.stop()


def copy_photo(name: str) -> bytes:
    return (GRABCUT / "images" / name).read_bytes()


def grabcut_mask(stem: str):
    import numpy as np
    from PIL import Image as PILImage

    path = next((GRABCUT / "masks").glob(f"{stem}.*"))
    mask = np.asarray(PILImage.open(path).convert("L"))
    return mask == 255, mask == 128


class Client:
    """A websocket client that keeps every reply, for assertions on order and content."""

    def __init__(self, stack: Stack, image_id: int, token: str | None, session_cookie: str | None = None) -> None:
        from websockets.sync.client import connect

        query = f"?token={token}" if token else ""
        address = f"{stack.ws_url}/ws/images/{image_id}/annotate/{query}"
        headers = {"Cookie": f"sessionid={session_cookie}"} if session_cookie else None
        self.ws = connect(address, max_size=8 * 2**20, origin=stack.url, additional_headers=headers).__enter__()
        self.replies: list[dict] = []
        self.sizes: list[int] = []

    def send(self, **message) -> None:
        self.ws.send(json.dumps(message))

    def send_raw(self, text: str) -> None:
        self.ws.send(text)

    def recv(self, timeout: float = 60) -> dict:
        raw = self.ws.recv(timeout=timeout)
        self.sizes.append(len(raw))
        reply = json.loads(raw)
        self.replies.append(reply)
        return reply

    def until(self, kind: str, timeout: float = 60, **match) -> dict:
        deadline = time.time() + timeout
        while True:
            reply = self.recv(max(0.1, deadline - time.time()))
            if reply["type"] == kind and all(reply.get(k) == v for k, v in match.items()):
                return reply

    def answer(self, seq: int, timeout: float = 60) -> dict:
        """What answers step ``seq``: its mask or its error."""
        deadline = time.time() + timeout
        while True:
            reply = self.recv(max(0.1, deadline - time.time()))
            if reply.get("seq") == seq and reply["type"] in ("mask", "error"):
                return reply

    def answer_or_busy(self, seq: int, timeout: float = 60) -> dict:
        """What answers step ``seq``: its mask, its error, or `busy` (retry later)."""
        deadline = time.time() + timeout
        while True:
            reply = self.recv(max(0.1, deadline - time.time()))
            if reply.get("seq") == seq and reply["type"] in ("mask", "error", "busy"):
                return reply

    def close(self) -> None:
        self.ws.close()


def token_for(user) -> str:
    from rest_framework.authtoken.models import Token

    return Token.objects.get_or_create(user=user)[0].key
