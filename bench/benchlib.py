"""Helpers shared by the benches that talk to a live stack: JSON over REST with a token (urllib: no extra
dependency), multipart uploads, percentiles, and the resident memory of the stack's processes."""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import numpy as np


def request(url: str, token: str, method: str, path: str, body: Any = None, timeout: float = 60) -> tuple[int, Any]:
    """``(status, parsed JSON body)`` of one REST call; HTTP errors are answers too (their status and body)."""
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Authorization": f"Token {token}", "Content-Type": "application/json"}
    req = urllib.request.Request(url + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as response:
            raw = response.read()
            return response.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as error:
        raw = error.read()
        try:
            return error.code, json.loads(raw)
        except ValueError:
            return error.code, raw.decode(errors="replace")


def upload(url: str, token: str, path: str, files: list[tuple[str, bytes]], timeout: float = 300) -> tuple[int, Any]:
    """POST ``files`` (name, content) as the multipart field ``files``."""
    boundary = uuid.uuid4().hex
    parts = []
    for name, content in files:
        head = (f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="{name}"\r\n'
                "Content-Type: application/octet-stream\r\n\r\n")  # fmt: skip
        parts += [head.encode(), content, b"\r\n"]
    parts.append(f"--{boundary}--\r\n".encode())
    headers = {"Authorization": f"Token {token}", "Content-Type": f"multipart/form-data; boundary={boundary}"}
    req = urllib.request.Request(url + path, data=b"".join(parts), method="POST", headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(errors="replace")


def percentile(values: list[float], q: float) -> float | None:
    return round(float(np.percentile(values, q)), 4) if values else None


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "unknown"


def rss_mb(pids: list[int]) -> float | None:
    """The summed VmRSS of the processes still alive (MiB), None when none is."""
    total, alive = 0, 0
    for pid in pids:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
                alive += 1
    return round(total / 1024, 1) if alive else None


def _cmdline(pid: str) -> list[str]:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    except OSError:
        return []


def _environ(pid: str) -> dict[str, str]:
    try:
        raw = Path(f"/proc/{pid}/environ").read_bytes().decode(errors="replace")
    except OSError:  # another user's process
        return {}
    return dict(item.split("=", 1) for item in raw.split("\0") if "=" in item)


def stack_pids(kind: str, database_url: str | None = None) -> list[int]:
    """This machine's daphne processes (``kind`` "web") or Celery inference workers ("worker"), found by their
    command lines; with ``database_url`` only those whose environment has that ``DATABASE_URL`` (other stacks on
    the machine are left out)."""
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        args = _cmdline(pid)
        words = " ".join(args)
        if kind == "web":
            match = any(Path(a).name == "daphne" for a in args) or " -m daphne " in f" {words} "
        else:
            match = "celery" in words and " worker" in words and "inference" in words
        if not match:
            continue
        if database_url and _environ(pid).get("DATABASE_URL") != database_url:
            continue
        found.append(int(pid))
    return sorted(found)
