"""The web process caps glibc's malloc arenas (backend/common/memory.py) unless MALLOC_ARENA_MAX says otherwise."""

import ctypes.util
import subprocess
import sys

import pytest

from tests.conftest import REPO_DIR

CALL = "from backend.common.memory import limit_malloc_arenas; print(limit_malloc_arenas())"
GLIBC = sys.platform.startswith("linux") and hasattr(ctypes.CDLL(ctypes.util.find_library("c")), "gnu_get_libc_version")


def _run(env: dict[str, str]) -> str:
    done = subprocess.run([sys.executable, "-c", CALL], cwd=REPO_DIR, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@pytest.mark.skipif(not GLIBC, reason="glibc only")
def test_the_arenas_are_capped_on_glibc_unless_the_environment_sets_them() -> None:
    assert _run({"PATH": "/usr/bin:/bin"}) == "True"
    assert _run({"PATH": "/usr/bin:/bin", "MALLOC_ARENA_MAX": "4"}) == "False"


def test_the_asgi_application_caps_them() -> None:
    source = (REPO_DIR / "backend" / "config" / "asgi.py").read_text()
    assert "limit_malloc_arenas()" in source.split("get_asgi_application()", 1)[0]
