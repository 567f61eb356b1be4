"""Request bodies above the largest acceptable one are refused with 413 before they are read: by daphne's request
as the bytes arrive (a real daphne here), and by the ASGI wrapper under any other server."""

import asyncio
import http.client
import json
import select
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core.asgi import get_asgi_application

from backend.common.body_limit import BodyLimit, max_body_bytes
from tests.conftest import png_bytes
from tests.live_stack import Stack, run_stack, token_for
from tests.own_loop import run_in_own_loop

MiB = 1024 * 1024
LIMITS = {"MAX_UPLOAD_BYTES": str(MiB), "DATA_UPLOAD_MAX_MEMORY_SIZE": str(64 * 1024)}
STACK_LIMIT = MiB + 64 * 1024 + MiB  # the stack's max_body_bytes(): files, other fields, multipart slack


@pytest.fixture(scope="module")
def stack(tmp_path_factory, django_db_setup, django_db_blocker) -> Iterator[Stack]:
    yield from run_stack(tmp_path_factory, team=False, workers=0, extra_env=LIMITS)


def _connect(stack: Stack) -> socket.socket:
    host, port = stack.url.removeprefix("http://").split(":")
    return socket.create_connection((host, int(port)), timeout=20)


def _response(sock: socket.socket, timeout: float = 20) -> tuple[int, dict]:
    """Status and JSON body of the one response on this connection (the server closes it after)."""
    sock.settimeout(timeout)
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), json.loads(body)


def _head(path: str, headers: dict[str, str]) -> bytes:
    lines = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", *(f"{k}: {v}" for k, v in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def test_a_declared_length_above_the_limit_is_refused_without_reading_the_body(stack: Stack) -> None:
    with _connect(stack) as sock:
        headers = {"Content-Length": str(10 * 1024**3), "Content-Type": "multipart/form-data; boundary=x"}
        sock.sendall(_head("/api/projects/1/images/", headers))  # and not one byte of the 10 GiB
        status, body = _response(sock)  # an answer at all, with no body byte sent: nothing was waited for
    assert status == 413 and body["error"] == "body_too_large", body
    assert f"{STACK_LIMIT:,}" in body["detail"]


def test_a_chunked_body_is_cut_off_once_it_passes_the_limit(stack: Stack) -> None:
    chunk = b"%x\r\n%s\r\n" % (64 * 1024, bytes(64 * 1024))
    sent = 0
    with _connect(stack) as sock:
        sock.sendall(_head("/api/auth/token/", {"Transfer-Encoding": "chunked", "Content-Type": "text/plain"}))
        # Send until the server answers (or hangs up on the rest), never more than 16 × the limit.
        try:
            while sent < 16 * STACK_LIMIT and not select.select([sock], [], [], 0)[0]:
                sock.sendall(chunk)
                sent += 64 * 1024
        except (BrokenPipeError, ConnectionResetError):
            pass
        assert select.select([sock], [], [], 20)[0], f"no answer after {sent:,} bytes"
        status, body = _response(sock)
    assert status == 413 and body["error"] == "body_too_large", body
    assert sent > STACK_LIMIT


def _multipart(name: str, data: bytes) -> tuple[bytes, str]:
    boundary = "edgeflow-test-boundary"
    head = f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="{name}"\r\n\r\n'
    return head.encode() + data + f"\r\n--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def _post(stack: Stack, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
    host, port = stack.url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=60)
    try:
        connection.request("POST", path, body=body, headers=headers)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def test_an_upload_within_the_limit_still_works_through_daphne(stack: Stack, transactional_db, settings, world) -> None:
    settings.MEDIA_ROOT = stack.media
    path = f"/api/projects/{world.project.pk}/images/"
    token = token_for(world.users["manager"])
    body, content_type = _multipart("fits.png", png_bytes(200, 150, seed=8))
    status, reply = _post(stack, path, body, {"Authorization": f"Token {token}", "Content-Type": content_type})
    assert status == 201, reply
    body, content_type = _multipart("big.png", bytes(MiB + 1))  # within the body limit, above the file limit
    status, reply = _post(stack, path, body, {"Authorization": f"Token {token}", "Content-Type": content_type})
    assert status == 413 and json.loads(reply)["error"] == "upload_too_large", reply


@pytest.fixture(scope="module")
def roomy_stack(tmp_path_factory, django_db_setup, django_db_blocker) -> Iterator[Stack]:
    yield from run_stack(tmp_path_factory, team=False, workers=0, extra_env={"MAX_UPLOAD_BYTES": str(64 * MiB)})


def _peak_rss_mib(stack: Stack) -> float:
    status = Path(f"/proc/{stack.processes[0].popen.pid}/status").read_text()
    return int(next(line for line in status.splitlines() if line.startswith("VmHWM:")).split()[1]) / 1024


def test_a_multipart_body_costs_daphne_about_its_size_not_a_dozen_times_it(roomy_stack: Stack) -> None:
    """Twisted parsed every POSTed multipart body into memory at ~12 times its size, on any URL, before daphne
    passed it on; now daphne holds the body once (its input queue) and Django streams it to disk."""
    size = 48 * MiB
    body, content_type = _multipart("big.png", bytes(size))
    before = _peak_rss_mib(roomy_stack)
    status, _ = _post(roomy_stack, "/api/no-such-endpoint/", body, {"Content-Type": content_type})
    assert status == 404
    growth = _peak_rss_mib(roomy_stack) - before
    assert growth < 2.5 * size / MiB, f"daphne grew by {growth:.0f} MiB for a {size // MiB} MiB body"


def _scope(headers: list[tuple[bytes, bytes]]) -> dict:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/api/auth/token/",
        "raw_path": b"/api/auth/token/",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"127.0.0.1"), *headers],
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 80),
    }


def _serve(headers: list[tuple[bytes, bytes]], body_chunks: list[bytes]) -> tuple[list[dict], int]:
    """Run Django's ASGI application behind the wrapper; the messages it sent and how many body messages it read."""
    inbox = [
        {"type": "http.request", "body": c, "more_body": i < len(body_chunks) - 1} for i, c in enumerate(body_chunks)
    ]
    read = 0
    sent: list[dict] = []

    async def receive() -> dict:
        nonlocal read
        if read < len(inbox):
            read += 1
            return inbox[read - 1]
        await asyncio.sleep(3600)  # a client that sends nothing more

    async def send(message: dict) -> None:
        sent.append(message)

    run_in_own_loop(lambda: asyncio.wait_for(BodyLimit(get_asgi_application())(_scope(headers), receive, send), 30))
    return sent, read


def test_the_asgi_wrapper_answers_a_declared_length_at_once(settings) -> None:
    settings.MAX_UPLOAD_BYTES = MiB
    sent, read = _serve([(b"content-length", str(max_body_bytes() + 1).encode())], [b"x"])
    assert read == 0
    assert sent[0]["status"] == 413 and json.loads(sent[1]["body"])["error"] == "body_too_large"
    assert len(sent) == 2


def test_the_asgi_wrapper_stops_reading_a_body_without_length_past_the_limit(settings) -> None:
    settings.MAX_UPLOAD_BYTES = MiB
    chunks = [bytes(256 * 1024)] * (4 * max_body_bytes() // (256 * 1024))
    sent, read = _serve([(b"content-type", b"text/plain")], chunks)
    assert read <= max_body_bytes() // (256 * 1024) + 1 < len(chunks)
    assert [m["type"] for m in sent] == ["http.response.start", "http.response.body"]
    assert sent[0]["status"] == 413 and json.loads(sent[1]["body"])["error"] == "body_too_large"
