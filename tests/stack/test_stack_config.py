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
