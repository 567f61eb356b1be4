"""The multi-process stack on one machine: `python -m deploy.stack` (or `make stack`), and its Python API.

The same units as ``deploy/systemd`` and ``deploy/Procfile``, all on 127.0.0.1, all children of this process:

========================  ====================================================================================
unit                      process
========================  ====================================================================================
``postgres``              its own PostgreSQL cluster (``initdb`` once, in ``<run dir>/postgres``), a free port
``redis``                 its own ``redis-server`` (nothing persisted: ``--save '' --appendonly no``), a free port
``web1`` … ``webN``       daphne (``--proxy-headers``), one port each
``proxy``                 nginx in the foreground, config generated in ``<run dir>/nginx/nginx.conf``: the daphnes
                          as one upstream (``proxy_next_upstream error timeout``), websockets passed
``inference1`` … ``M``    Celery inference workers (``-Q inference -P solo --prefetch-multiplier 1``)
``jobs1`` …               Celery workers of the ``default`` and ``training`` queues (exports, fine-tuning)
========================  ====================================================================================

Before the app units start it runs ``manage.py migrate`` and ``collectstatic`` (and ``load_demo`` with
``demo=True``); then it waits until the stack is ready: every unit up (daphnes listening, workers logging
``ready.``), ``/healthz`` answering through the proxy, and ``/readyz`` answering 200 where the app has it. Each
unit's output goes to ``<run dir>/logs/<unit>.log`` (appended to across restarts).

Inference threads: when M workers share the machine, each gets ``INFERENCE_THREADS = cores // M`` (at least 1)
unless ``INFERENCE_THREADS`` is set, so that together they never run more forward threads than there are cores;
a single worker keeps the default (every core). deploy/README.md, *Sizing inference*, says why one worker per
machine is usually faster.

API (tests, ``bench/load.py``)::

    from deploy.stack import Stack

    with Stack(web=2, inference_workers=2, demo=True) as stack:  # starts everything, waits until ready
        stack.url, stack.ws_url               # the proxy: http://127.0.0.1:PORT, ws://127.0.0.1:PORT
        stack.database_url, stack.redis_url   # the stack's own PostgreSQL and Redis
        stack.env                             # the environment of the app's processes (for manage.py etc.)
        stack.units["web1"].pid, .log, .port  # name -> Unit (also .running, .output(), .wait_for_log(text))
        stack.kill("web1")                    # SIGKILL (its whole process group), no waiting for readiness
        stack.start("web1")                   # start a stopped or killed unit, wait until it is ready
        stack.restart("postgres")             # graceful stop, then start
        stack.add_inference_worker(env={...}) # one more inference worker (e.g. one without model weights)
        stack.manage("shell", "-c", "...")    # a manage.py command in the stack's environment
    # leaving the block (or stack.stop()) stops every unit: proxy, web, workers, Redis, PostgreSQL

``Stack(...)`` takes ``web``, ``inference_workers``, ``jobs_workers``, ``port`` (the proxy's; 0 = a free one),
``run_dir`` (default ``<var>/stack``; with ``ephemeral=True`` and no run dir, a temporary folder removed by
``stop()``), ``logs`` (default ``<run dir>/logs``), ``demo``, ``env_overrides`` (on top of the app's environment),
``collectstatic`` and ``say`` (where progress lines go). ``start()`` without a name starts the whole stack;
``stop()`` without a name stops it in tiers (proxy and daphnes, workers, then Redis and PostgreSQL).
``ready_status()`` is ``/readyz``'s status through the proxy; ``psql(sql, database=...)`` runs SQL as the
cluster's superuser (the fault tests count rows with it).
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

REPO_DIR = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"
DB_NAME = DB_USER = DB_PASSWORD = "edgeflow"
START_TIMEOUT_S = 240  # workers load and compile the model: minutes on a busy 2-core machine
STOP_TIMEOUT_S = 15
ASGI_APPLICATION = "backend.config.asgi:application"


# ---------------------------------------------------------------------------------------------- helpers
def free_port() -> int:
    """A port nothing listens on now (the OS's pick for port 0)."""
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((HOST, port)) == 0


def http_status(port: int, path: str, timeout: float = 5) -> int | None:
    """The status of GET ``path`` on 127.0.0.1:``port``, None when nothing answers."""
    try:
        conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
        conn.request("GET", path)
        status = conn.getresponse().status
        conn.close()
        return status
    except OSError:
        return None


def wait_for(condition: Callable[[], object], *, timeout: float, what: str, details: Callable[[], str] = str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"waited {timeout:.0f} s for {what}\n{details()}")
        time.sleep(0.1)


def nginx_program() -> str:
    return shutil.which("nginx") or "/usr/sbin/nginx"  # /usr/sbin is not on every user's PATH


def postgres_bin() -> Path:
    """``$PG_BIN``, else the newest /usr/lib/postgresql/<version>/bin (Debian's layout)."""
    if os.environ.get("PG_BIN"):
        return Path(os.environ["PG_BIN"])
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name))
    if not versions:
        raise RuntimeError("PostgreSQL's initdb was not found: run deploy/scripts/ensure-stack-tools.sh")
    return versions[-1].parent


def as_postgres(args: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: as root, run it as the `postgres` OS user (setpriv: no extra process)."""
    if os.geteuid() != 0:
        return args
    return ["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups", "--", *args]


def cpu_count() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def inference_threads(workers: int, cores: int) -> int | None:
    """Threads per inference worker when ``workers`` share ``cores``: None (every core) for one worker."""
    return None if workers <= 1 else max(1, cores // workers)


# ---------------------------------------------------------------------------------------------- units
@dataclass
class Unit:
    """One process of the stack: its command, its log, how to tell it is ready, and the running process."""

    name: str
    command: list[str]
    log: Path
    env: dict[str, str]
    ready: Callable[[Unit], bool]
    port: int | None = None
    stop_signal: int = signal.SIGTERM
    popen: subprocess.Popen | None = None
    starts: int = 0
    log_offset: int = 0  # where this start's output begins in the log
    build: Callable[[int], list[str]] | None = None  # the command for another port (when this one was taken)

    @property
    def pid(self) -> int | None:
        return self.popen.pid if self.popen else None

    @property
    def running(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def output(self, *, all_starts: bool = False) -> str:
        """The log since this unit was last started (``all_starts``: the whole file)."""
        if not self.log.exists():
            return ""
        with self.log.open("rb") as f:
            f.seek(0 if all_starts else self.log_offset)
            return f.read().decode(errors="replace")

    def tail(self, chars: int = 4000) -> str:
        return f"{self.name}'s log ({self.log}):\n{self.output(all_starts=True)[-chars:]}"

    def wait_for_log(self, text: str, timeout: float = 60, count: int = 1) -> str:
        """This start's output once it holds ``text`` ``count`` times; an error if the process exits first."""

        def written() -> bool:
            if self.output().count(text) >= count:
                return True
            if not self.running:
                raise RuntimeError(f"{self.name} exited ({self.popen and self.popen.returncode}):\n{self.tail()}")
            return False

        wait_for(written, timeout=timeout, what=f"{text!r} in {self.name}'s log", details=self.tail)
        return self.output()

    def launch(self) -> None:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as handle:
            self.starts += 1
            handle.write(f"==== deploy.stack: start {self.starts} of {self.name} at {time.ctime()}\n".encode())
            handle.flush()
            self.log_offset = handle.tell()
            # Each unit in a session of its own: kill() reaches its children, and Ctrl+C reaches only us (we stop
            # the units in order). From the main thread, a unit also dies with us (parent-death signal).
            pdeathsig = threading.current_thread() is threading.main_thread()
            command = list(self.command)
            if pdeathsig and command[0] == "setpriv":  # set after its change of user, which would clear ours
                command[1:1] = ["--pdeathsig", "SIGKILL"]
            self.popen = subprocess.Popen(
                command,
                cwd=REPO_DIR,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=handle,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_die_with_parent if pdeathsig else None,
            )

    def signal(self, signum: int) -> None:
        if self.running:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signum)

    def kill(self) -> None:
        """SIGKILL to the unit's process group (a postmaster and its backends, a celery worker and its pool)."""
        if self.popen is None:
            return
        self.signal(signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGKILL)  # children that outlived the leader
        self.popen.wait(10)

    def stop(self, timeout: float = STOP_TIMEOUT_S) -> None:
        if not self.running:
            return
        self.signal(self.stop_signal)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(timeout)
        self.kill()


def _die_with_parent() -> None:
    """In the child before exec: SIGKILL when the stack's process dies (Linux prctl PR_SET_PDEATHSIG)."""
    import ctypes

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)


# ---------------------------------------------------------------------------------------------- the stack
@dataclass
class Stack:
    web: int = 2
    inference_workers: int = 2
    jobs_workers: int = 1
    port: int = 0
    run_dir: Path | None = None
    demo: bool = False
    env_overrides: dict[str, str] = field(default_factory=dict)
    collectstatic: bool = True
    ephemeral: bool = False  # a temporary run dir, removed by stop()
    logs: Path | None = None  # default <run dir>/logs (kept elsewhere, they outlive an ephemeral run dir)
    python: str = sys.executable
    say: Callable[[str], None] = lambda text: print(text, flush=True)

    def __post_init__(self) -> None:
        if self.run_dir is None:
            if self.ephemeral:
                self.run_dir = Path(tempfile.mkdtemp(prefix="edgeflow-stack-"))
            else:
                self.run_dir = Path(os.environ.get("EDGEFLOW_VAR_DIR") or REPO_DIR / "var") / "stack"
        self.run_dir = Path(self.run_dir).resolve()
        self.logs = Path(self.logs or self.run_dir / "logs")
        self.media_root = Path(self.env_overrides.get("MEDIA_ROOT") or self.run_dir / "media")
        self.units: dict[str, Unit] = {}
        self._pg_temp: Path | None = None
        self._port_given = bool(self.port)
        self._started = False

    # ------------------------------------------------------------------ addresses
    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://{HOST}:{self.port}"

    @property
    def database_url(self) -> str:
        return f"postgres://{DB_USER}:{DB_PASSWORD}@{HOST}:{self.units['postgres'].port}/{DB_NAME}"

    @property
    def redis_url(self) -> str:
        return f"redis://{HOST}:{self.units['redis'].port}/0"

    @property
    def env(self) -> dict[str, str]:
        """The environment of the app's processes (daphne, Celery, manage.py)."""
        env = {
            k: v for k, v in os.environ.items() if k not in {"DJANGO_ALLOW_ASYNC_UNSAFE", "REDIS_URL", "DATABASE_URL"}
        }
        env.update(
            DJANGO_SETTINGS_MODULE="backend.config.settings",
            DATABASE_URL=self.database_url,
            REDIS_URL=self.redis_url,
            MEDIA_ROOT=str(self.media_root),
            SECRET_KEY=env.get("SECRET_KEY") or self._secret_key(),
            ALLOWED_HOSTS="127.0.0.1,localhost",  # the proxy passes Host with its port: same-origin checks pass
            DEBUG="0",
            LOG_LEVEL=env.get("LOG_LEVEL", "INFO"),
            PYTHONUNBUFFERED="1",
        )
        env.update(self.env_overrides)
        return env

    def _secret_key(self) -> str:
        """One key per run dir, kept across restarts (sessions survive a restarted stack)."""
        path = self.run_dir / "secret_key"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(50))
            path.chmod(0o600)
        return path.read_text().strip()

    # ------------------------------------------------------------------ whole stack
    def __enter__(self) -> Stack:
        return self.started()

    def started(self) -> Stack:
        """This stack, whole and ready; when starting it fails, whatever had started is stopped again."""
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self, name: str | None = None, *, timeout: float = START_TIMEOUT_S) -> None:
        """Start unit ``name`` (stopped or killed) and wait until it is ready; without a name, the whole stack."""
        if name is not None:
            unit = self.units[name]
            if not unit.running:
                unit.launch()
            self._wait_unit(unit, timeout)
            return
        started = time.monotonic()
        missing = [p for p in ("redis-server", nginx_program()) if not shutil.which(p)]
        if missing:
            raise RuntimeError(f"{', '.join(missing)} not installed: run deploy/scripts/ensure-stack-tools.sh")
        postgres_bin()  # or the same advice
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.logs.mkdir(parents=True, exist_ok=True)
        self.media_root.mkdir(parents=True, exist_ok=True)
        self._port_given = bool(self.port)
        self.port = self.port or free_port()
        self._define_services()
        self._started = True
        for unit in (self.units["postgres"], self.units["redis"]):
            unit.launch()
        for unit in (self.units["postgres"], self.units["redis"]):
            self._ready_on_a_free_port(unit, 60)
        self._create_database()
        self.say(f"PostgreSQL on {HOST}:{self.units['postgres'].port}, Redis on {HOST}:{self.units['redis'].port}")
        self.manage("migrate", "--noinput", "-v", "0")
        if self.collectstatic:
            self.manage("collectstatic", "--noinput", "-v", "0")
        if self.demo:
            self.say(self.manage("load_demo").stdout.strip())
        self._define_app_units()
        for unit in self.units.values():  # the workers load the model meanwhile
            if not unit.running:
                unit.launch()
        for unit in [u for n, u in self.units.items() if n.startswith("web")]:
            self._ready_on_a_free_port(unit, timeout)
        if "proxy" not in self.units:  # once the daphnes' ports are final: its upstream lists them
            self.units["proxy"] = self._proxy_unit()
            self.units["proxy"].launch()
            self._ready_on_a_free_port(self.units["proxy"], 60)
        self.wait_ready(timeout)
        self.say(f"Stack ready in {time.monotonic() - started:.0f} s")

    def stop(self, name: str | None = None) -> None:
        """Stop unit ``name`` gracefully (SIGKILL after a while); without a name, every unit, in order."""
        if name is not None:
            self.units[name].stop()
            return
        # In tiers, each tier's units at once: what clients talk to, the workers, then what they all use.
        services = ("redis", "postgres")
        front = [n for n in self.units if n == "proxy" or n.startswith("web")]
        workers = [n for n in self.units if n not in front and n not in services]
        for tier in (front, workers, [n for n in services if n in self.units]):
            units = [self.units[n] for n in tier if self.units[n].running]
            for unit in units:
                unit.signal(unit.stop_signal)
            deadline = time.monotonic() + STOP_TIMEOUT_S
            for unit in units:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    unit.popen.wait(max(0.1, deadline - time.monotonic()))
                unit.kill()
        if self.ephemeral:
            shutil.rmtree(self.run_dir, ignore_errors=True)
        if self._pg_temp is not None:
            shutil.rmtree(self._pg_temp, ignore_errors=True)
            self._pg_temp = None

    def kill(self, name: str) -> None:
        """SIGKILL unit ``name`` (and its children), as a crash would; it stays down until ``start(name)``."""
        self.units[name].kill()

    def restart(self, name: str, *, timeout: float = START_TIMEOUT_S) -> None:
        self.stop(name)
        self.start(name, timeout=timeout)

    def wait_ready(self, timeout: float = START_TIMEOUT_S) -> None:
        """Every unit ready, then ``/readyz`` 200 through the proxy (``/healthz`` where there is no /readyz)."""
        deadline = time.monotonic() + timeout
        for unit in self.units.values():
            self._wait_unit(unit, max(1.0, deadline - time.monotonic()))
        # Without inference workers /readyz stays 503 (no warm worker): then any answer will do.
        accepted = (200, 404) if any(n.startswith("inference") for n in self.units) else (200, 404, 503)
        wait_for(
            lambda: http_status(self.port, "/readyz") in accepted,
            timeout=max(1.0, deadline - time.monotonic()),
            what="/readyz to answer 200",
            details=self.describe,
        )

    def ready_status(self) -> int | None:
        """The status of ``/readyz`` through the proxy (404 where the app has none yet; None when nothing answers)."""
        return http_status(self.port, "/readyz")

    def _ready_on_a_free_port(self, unit: Unit, timeout: float) -> None:
        """Wait until ``unit`` is ready; if it exited because another process took its port since we chose it
        (free_port() only finds one free at that moment), start it again on another."""
        for _ in range(5):
            try:
                self._wait_unit(unit, timeout)
                return
            except RuntimeError:
                if unit.build is None or "already in use" not in unit.output():
                    raise
                unit.port = free_port()
                unit.command = unit.build(unit.port)
                unit.launch()
        self._wait_unit(unit, timeout)

    def _wait_unit(self, unit: Unit, timeout: float) -> None:
        def ready() -> bool:
            if not unit.running:
                raise RuntimeError(f"{unit.name} exited ({unit.popen.returncode}):\n{unit.tail()}")
            return unit.ready(unit)

        wait_for(ready, timeout=timeout, what=f"{unit.name} to be ready", details=unit.tail)

    def describe(self) -> str:
        lines = [f"EdgeFlow Studio: {self.url}/   (run dir {self.run_dir})"]
        for unit in self.units.values():
            state = f"pid {unit.pid}" if unit.running else "stopped"
            where = f"  {HOST}:{unit.port}" if unit.port else ""
            lines.append(f"  {unit.name:<12} {state:<12}{where:<18}  log {unit.log}")
        return "\n".join(lines)

    # ------------------------------------------------------------------ commands
    def manage(self, *args: str, check: bool = True, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
        """``manage.py <args>`` in the stack's environment; its output is returned (and an error raised on failure)."""
        result = subprocess.run(
            [self.python, "manage.py", *args],
            cwd=REPO_DIR,
            env={**self.env, **(env or {})},
            capture_output=True,
            text=True,
        )
        if check and result.returncode != 0:
            raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
        return result

    def psql(self, sql: str, *, database: str = "postgres") -> str:
        """Run ``sql`` as the cluster's superuser (over its Unix socket); the tuples, unaligned."""
        unit = self.units["postgres"]
        command = [str(postgres_bin() / "psql"), "-h", str(self._pg_socket_dir), "-p", str(unit.port), "-U", "postgres"]
        command += ["-d", database, "-v", "ON_ERROR_STOP=1", "-qtAc", sql]
        return subprocess.run(as_postgres(command), check=True, capture_output=True, text=True).stdout.strip()

    # ------------------------------------------------------------------ PostgreSQL and Redis
    def _define_services(self) -> None:
        if "postgres" in self.units:
            return
        pg_bin = postgres_bin()
        root = self._postgres_dir()
        data, self._pg_socket_dir = root / "data", root
        if not (data / "PG_VERSION").exists():
            self.say(f"initdb {data}")
            subprocess.run(
                as_postgres(
                    [
                        str(pg_bin / "initdb"),
                        "-D",
                        str(data),
                        "-U",
                        "postgres",
                        "-E",
                        "UTF8",
                        "--no-sync",
                        "--auth-local=trust",
                        "--auth-host=scram-sha-256",
                        "--no-instructions",
                    ]
                ),  # fmt: skip
                check=True,
                capture_output=True,
            )
        pg_port, redis_port = free_port(), free_port()

        def postgres(port: int) -> list[str]:
            settings = ["-c", f"listen_addresses={HOST}", "-c", "max_connections=200"]
            return as_postgres([str(pg_bin / "postgres"), "-D", str(data), "-p", str(port), "-k", str(root), *settings])

        def pg_ready(unit: Unit) -> bool:
            command = [str(pg_bin / "pg_isready"), "-q", "-h", HOST, "-p", str(unit.port)]
            return subprocess.run(command, check=False).returncode == 0

        def redis(port: int) -> list[str]:
            keep_nothing = ["--save", "", "--appendonly", "no"]
            return ["redis-server", "--bind", HOST, "--port", str(port), *keep_nothing,
                    "--dir", str(self.run_dir / "redis"), "--logfile", ""]  # fmt: skip

        self.units["postgres"] = Unit(
            "postgres",
            postgres(pg_port),
            self.logs / "postgres.log",
            dict(os.environ),
            ready=pg_ready,
            port=pg_port,
            stop_signal=signal.SIGINT,  # PostgreSQL's fast shutdown
            build=postgres,
        )
        (self.run_dir / "redis").mkdir(exist_ok=True)
        self.units["redis"] = Unit(
            "redis",
            redis(redis_port),
            self.logs / "redis.log",
            dict(os.environ),
            ready=lambda u: _redis_ping(u.port),
            port=redis_port,
            build=redis,
        )

    def _postgres_dir(self) -> Path:
        """``<run dir>/postgres``, owned by the `postgres` user when we are root; where that user cannot reach the
        run dir (a private temporary folder), a folder of /tmp linked from there, removed by stop()."""
        root = self.run_dir / "postgres"
        if os.geteuid() != 0:
            root.mkdir(mode=0o700, exist_ok=True)
            return root
        if root.is_symlink() and not root.exists():
            root.unlink()
        if not root.exists():
            root.mkdir(mode=0o700)
        shutil.chown(root, "postgres", "postgres")
        if subprocess.run(as_postgres(["test", "-w", str(root)]), check=False).returncode == 0:
            return root
        root.rmdir()
        self._pg_temp = Path(tempfile.mkdtemp(prefix="edgeflow-stack-pg-"))
        shutil.chown(self._pg_temp, "postgres", "postgres")
        root.symlink_to(self._pg_temp)
        return self._pg_temp

    def _create_database(self) -> None:
        if self.psql(f"SELECT 1 FROM pg_roles WHERE rolname = '{DB_USER}'") != "1":
            self.psql(f"CREATE ROLE {DB_USER} LOGIN PASSWORD '{DB_PASSWORD}' CREATEDB")
        if self.psql(f"SELECT 1 FROM pg_database WHERE datname = '{DB_NAME}'") != "1":
            self.psql(f"CREATE DATABASE {DB_NAME} OWNER {DB_USER}")

    # ------------------------------------------------------------------ the app's units
    def _define_app_units(self) -> None:
        if any(name.startswith("web") for name in self.units):
            return

        def daphne(port: int) -> list[str]:
            return [self.python, "-m", "daphne", "--proxy-headers", "-b", HOST, "-p", str(port), ASGI_APPLICATION]

        for index in range(1, self.web + 1):
            port = free_port()
            self.units[f"web{index}"] = Unit(
                f"web{index}",
                daphne(port),
                self.logs / f"web{index}.log",
                self.env,
                ready=lambda u: port_open(u.port),
                port=port,
                build=daphne,
            )
        threads = inference_threads(self.inference_workers, cpu_count())
        for index in range(1, self.inference_workers + 1):
            extra = {"INFERENCE_THREADS": str(threads)} if threads and "INFERENCE_THREADS" not in self.env else {}
            self._worker_unit(f"inference{index}", "inference", extra)
        for index in range(1, self.jobs_workers + 1):
            self._worker_unit(f"jobs{index}", "default,training", {})

    def _worker_unit(self, name: str, queues: str, extra_env: dict[str, str]) -> Unit:
        pool = ["-P", "solo", "--prefetch-multiplier", "1"] if queues == "inference" else ["-c", "2"]
        unit = Unit(
            name,
            [
                self.python,
                "-m",
                "celery",
                "-A",
                "backend.config",
                "worker",
                "-Q",
                queues,
                *pool,
                "-n",
                f"{name}@%h",
                "--without-gossip",
                "--without-mingle",
                "-l",
                "INFO",
            ],  # fmt: skip
            self.logs / f"{name}.log",
            {**self.env, **extra_env},
            ready=lambda u: " ready." in u.output(),
        )
        self.units[name] = unit
        return unit

    def add_inference_worker(
        self, name: str | None = None, *, env: dict[str, str] | None = None, wait: bool = True
    ) -> Unit:
        """One more inference worker (``env`` on top of the stack's), started; ``wait``: until it logs ready."""
        name = name or f"inference{sum(n.startswith('inference') for n in self.units) + 1}"
        unit = self._worker_unit(name, "inference", env or {})
        unit.launch()
        if wait:
            self._wait_unit(unit, START_TIMEOUT_S)
        return unit

    def _proxy_unit(self) -> Unit:
        nginx = nginx_program()
        folder = self.run_dir / "nginx"
        folder.mkdir(exist_ok=True)
        config = folder / "nginx.conf"
        webs = [u for n, u in self.units.items() if n.startswith("web")]

        def proxy(port: int) -> list[str]:
            self.port = port
            config.write_text(nginx_config(folder, port, [u.port for u in webs], self.logs))
            return [nginx, "-p", str(folder), "-c", str(config)]

        return Unit(
            "proxy",
            proxy(self.port),
            self.logs / "proxy.log",
            dict(os.environ),
            ready=lambda u: http_status(u.port, "/healthz") == 200,
            port=self.port,
            stop_signal=signal.SIGTERM,  # nginx: fast shutdown (a graceful one waits for every open websocket)
            build=None if self._port_given else proxy,  # a port asked for is kept (or the start fails)
        )


def _redis_ping(port: int) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=1) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def nginx_config(folder: Path, port: int, upstream_ports: list[int], logs: Path) -> str:
    """The proxy: every daphne as one upstream; a request whose daphne refuses or times out the connection goes to
    the next (before anything was sent, so a POST is never sent twice); websockets upgraded and kept open."""
    servers = "\n".join(f"        server {HOST}:{p} max_fails=1 fail_timeout=2s;" for p in upstream_ports)
    temp = "\n".join(
        f"    {kind}_temp_path {folder / kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return f"""# Generated by deploy/stack.py: nginx in the foreground, in front of the stack's daphnes.
daemon off;
worker_processes 1;
pid {folder / "nginx.pid"};
error_log stderr notice;

events {{
    worker_connections 4096;
}}

http {{
    access_log {logs / "proxy-access.log"};
{temp}

    # "Connection: upgrade" for websockets; for plain requests an empty Connection keeps upstream connections alive
    map $http_upgrade $connection_upgrade {{
        default upgrade;
        ''      '';
    }}

    upstream edgeflow_web {{
{servers}
        keepalive 32;
    }}

    server {{
        listen {HOST}:{port};
        client_max_body_size 1100m;    # MAX_UPLOAD_BYTES plus multipart framing; the app refuses more itself

        location / {{
            proxy_pass http://edgeflow_web;
            proxy_http_version 1.1;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
            proxy_set_header Host $http_host;              # with the port: websockets' same-origin check
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_set_header X-Forwarded-Host $http_host;
            proxy_next_upstream error timeout;             # a dead daphne: the next one (idempotent requests)
            proxy_next_upstream_tries 3;
            proxy_connect_timeout 2s;
            proxy_read_timeout 3600s;                      # websockets idle between clicks
            proxy_send_timeout 3600s;
            proxy_request_buffering off;                   # uploads stream to daphne
            proxy_buffering off;
        }}
    }}
}}
"""


# ---------------------------------------------------------------------------------------------- command line
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m deploy.stack",
        description="Start EdgeFlow Studio's multi-process stack on 127.0.0.1: its own PostgreSQL and Redis, "
        "daphne processes behind nginx, Celery inference and jobs workers. Ctrl+C stops it.",
    )
    parser.add_argument("--web", type=int, default=2, help="daphne processes (default 2)")
    parser.add_argument("--inference-workers", type=int, default=2, help="Celery inference workers (default 2)")
    parser.add_argument("--jobs-workers", type=int, default=1, help="Celery workers of default,training (default 1)")
    parser.add_argument("--port", type=int, default=8080, help="the proxy's port (default 8080; 0: a free one)")
    parser.add_argument("--run-dir", type=Path, default=None, help="data and logs (default <var>/stack)")
    parser.add_argument("--demo", action="store_true", help="create the demo project and users (manage.py load_demo)")
    parser.add_argument("--no-collectstatic", action="store_true", help="skip collectstatic")
    args = parser.parse_args(argv)

    stack = Stack(
        web=args.web,
        inference_workers=args.inference_workers,
        jobs_workers=args.jobs_workers,
        port=args.port,
        run_dir=args.run_dir,
        demo=args.demo,
        collectstatic=not args.no_collectstatic,
    )
    if args.port and port_open(args.port):
        parser.error(f"port {args.port} is in use: pass another --port (or 0)")

    stopping = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        stopping.set()
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)  # also when started with SIGINT ignored (a background job of a shell)
    try:
        stack.start()
        print(stack.describe(), "\nCtrl+C to stop.", flush=True)
        while True:  # report units that die (they stay down: a supervisor would restart them)
            for unit in stack.units.values():
                if unit.popen is not None and unit.popen.poll() is not None and not getattr(unit, "_reported", False):
                    unit._reported = True  # type: ignore[attr-defined]
                    print(f"{unit.name} exited ({unit.popen.returncode}); see {unit.log}", flush=True)
            time.sleep(1)
    except KeyboardInterrupt:
        print("\nStopping…", flush=True)
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl+C does not interrupt the orderly stop
        stack.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
