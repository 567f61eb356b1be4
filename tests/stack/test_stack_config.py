"""deploy/stack.py without starting it: the generated proxy config is valid nginx, the threads rule, and the
Procfile runs the processes the stack runs."""

import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from deploy.stack import Stack, inference_threads, nginx_config
from tests.conftest import REPO_DIR


def test_inference_workers_sharing_the_cores_get_a_share_each() -> None:
    assert inference_threads(1, 2) is None  # one worker: every core
    assert inference_threads(2, 2) == 1
    assert inference_threads(2, 8) == 4
    assert inference_threads(3, 2) == 1  # never fewer than one


def test_the_proxy_config_passes_websockets_to_every_daphne_and_nginx_accepts_it(tmp_path: Path) -> None:
    config = nginx_config(tmp_path, 18080, [18001, 18002], tmp_path)
    for line in [
        "server 127.0.0.1:18001",
        "server 127.0.0.1:18002",
        "listen 127.0.0.1:18080;",
        "proxy_set_header Upgrade $http_upgrade;",
        "proxy_set_header Connection $connection_upgrade;",
        "proxy_set_header Host $http_host;",
        "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;",
        "proxy_set_header X-Forwarded-Proto $scheme;",
        "proxy_next_upstream error timeout;",
    ]:
        assert line in config
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(nginx).exists():
        pytest.skip("nginx is not installed (make services)")
    (tmp_path / "nginx.conf").write_text(config)
    result = subprocess.run([nginx, "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")],
                            capture_output=True, text=True)  # fmt: skip
    assert result.returncode == 0, result.stderr


def procfile() -> dict[str, list[str]]:
    lines = (REPO_DIR / "deploy" / "Procfile").read_text().splitlines()
    entries = [line.split(":", 1) for line in lines if line.strip() and not line.startswith("#")]
    return {name.strip(): shlex.split(command) for name, command in entries}


def test_the_procfile_runs_what_the_stack_runs(tmp_path: Path) -> None:
    stack = Stack(web=2, inference_workers=1, jobs_workers=1, run_dir=tmp_path, port=18080)
    stack.units["postgres"] = type("Placeholder", (), {"port": 1})()  # addresses only: nothing is started
    stack.units["redis"] = stack.units["postgres"]
    stack._define_app_units()
    listed = procfile()
    assert set(listed) == {"web1", "web2", "inference1", "jobs1"}
    for name, command in listed.items():
        ours = stack.units[name].command
        flags = [arg for arg in command[1:] if not arg.isdigit()]
        ours_flags = [arg for arg in ours[ours.index("-m") + 2 :] if not arg.isdigit()]
        assert flags == [arg for arg in ours_flags if arg not in ("-l", "INFO")], name


def test_a_unit_whose_port_was_taken_meanwhile_starts_on_another(tmp_path: Path) -> None:
    """free_port() finds a port free at that moment only: a unit that then cannot bind it is moved, not failed."""
    import socket

    from deploy.stack import HOST, Unit, _redis_ping

    if not shutil.which("redis-server"):
        pytest.skip("redis-server is not installed (make services)")
    stack = Stack(run_dir=tmp_path, port=18080)
    with socket.socket() as taken:
        taken.bind((HOST, 0))
        taken.listen()
        port = taken.getsockname()[1]

        def redis(p: int) -> list[str]:
            return ["redis-server", "--bind", HOST, "--port", str(p), "--save", "", "--appendonly", "no"]

        unit = Unit("redis", redis(port), tmp_path / "redis.log", {}, ready=lambda u: _redis_ping(u.port), port=port,
                    build=redis)  # fmt: skip
        unit.launch()
        try:
            stack._ready_on_a_free_port(unit, 30)
            assert unit.port != port and unit.running and _redis_ping(unit.port)
            assert "already in use" in unit.output(all_starts=True)
        finally:
            unit.stop()


def test_the_command_line_serves_through_the_proxy_and_stops_every_unit_on_ctrl_c(tmp_path: Path) -> None:
    """`python -m deploy.stack` (no model workers, to be quick): it prints the address and the units, the proxy
    answers there, and SIGINT (Ctrl+C) stops every unit it started."""
    import os
    import re
    import signal
    import sys

    from deploy.stack import http_status
    from tests.stack.conftest import _missing
    from tests.waiting import wait_until

    if _missing():
        pytest.skip(_missing())
    out = tmp_path / "out.txt"
    args = [sys.executable, "-m", "deploy.stack", "--web", "1", "--inference-workers", "0", "--jobs-workers", "0",
            "--port", "0", "--run-dir", str(tmp_path / "run"), "--no-collectstatic"]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    with out.open("w") as handle:
        cli = subprocess.Popen(args, cwd=REPO_DIR, env=env, stdout=handle, stderr=subprocess.STDOUT)
    try:
        wait_until(lambda: "Ctrl+C to stop" in out.read_text() or cli.poll() is not None, timeout=120,
                   what="the stack to start", details=out.read_text)  # fmt: skip
        text = out.read_text()
        assert cli.poll() is None, text
        port = int(re.search(r"EdgeFlow Studio: http://127\.0\.0\.1:(\d+)/", text).group(1))
        pids = [int(pid) for pid in re.findall(r"pid (\d+)", text)]
        assert len(pids) == 4, text  # postgres, redis, web1, proxy
        assert http_status(port, "/healthz") == 200
    finally:
        cli.send_signal(signal.SIGINT)
        cli.wait(60)

    def gone(pid: int) -> bool:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        return False

    assert cli.returncode == 0, out.read_text()
    assert all(gone(pid) for pid in pids), out.read_text()
