"""Export jobs of the embedded default run in a child process (``manage.py run_export_job``), not a thread.

An export is CPU work in Python: in a thread of the server it would share the interpreter lock with every API call
(the pages slow down) and its memory would stay with the server. A child process started per job takes neither: a
thread of the server only starts it and waits. The child reaches the same database and files as the server, so it
gets them by value: the database this process is connected to (in tests, the test database) as ``DATABASE_URL``,
``MEDIA_ROOT`` and the exports folder. A child that dies (killed, out of memory) fails its job with the reason; a
child still running after ``EXPORT_TIMEOUT_S``, or whose job was deleted or failed meanwhile, is killed.
"""

import logging
import math
import os
import resource
import signal
import subprocess
import sys
import time
from typing import Any
from urllib.parse import quote, urlencode

from django.conf import settings
from django.db import connection
from django.utils import timezone

from backend.common.job_status import ACTIVE_STATUSES, JobStatus
from backend.exports.models import ExportJob, exports_dir

log = logging.getLogger(__name__)

WAIT_POLL_S = 0.2  # how often the waiting thread looks whether the child ended
JOB_CHECK_INTERVAL_S = 2.0  # how often it looks whether the job was deleted or failed meanwhile (then kills it)


def database_url(database: dict[str, Any]) -> str:
    """The URL of a Django database configuration (PostgreSQL or SQLite), as dj-database-url reads it back
    (PostgreSQL's connection options, e.g. ``sslmode``, as its query string)."""
    engine = database["ENGINE"]
    if engine.endswith("sqlite3"):
        return f"sqlite:///{database['NAME']}"
    if "postgresql" in engine:
        user = quote(database.get("USER") or "", safe="")
        password = quote(database.get("PASSWORD") or "", safe="")
        credentials = f"{user}:{password}@" if password else (f"{user}@" if user else "")
        port = f":{database['PORT']}" if database.get("PORT") else ""
        options = urlencode({k: v for k, v in (database.get("OPTIONS") or {}).items() if isinstance(v, str | int)})
        path = f"{database.get('HOST') or ''}{port}/{quote(database['NAME'], safe='')}"
        return f"postgres://{credentials}{path}" + (f"?{options}" if options else "")
    raise ValueError(f"export child processes do not know the database engine {engine}")


def child_environment() -> dict[str, str]:
    """This process's environment, pointed at the database and folders this process uses."""
    return {
        **os.environ,
        "DATABASE_URL": database_url(connection.settings_dict),
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "EXPORTS_DIR": str(exports_dir()),
        "PYTHONUNBUFFERED": "1",
    }


def child_command(job_id: int) -> list[str]:
    return [sys.executable, str(settings.REPO_DIR / "manage.py"), "run_export_job", str(job_id)]


def _exit_reason(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"it was killed by {signal.Signals(os.WTERMSIG(status)).name}"
    return f"it exited with code {os.waitstatus_to_exitcode(status)}"


def run_export_in_child(job_id: int) -> None:
    """Run job ``job_id`` in a child process and wait for it; a job the child left unfinished fails with why."""
    started = time.monotonic()
    try:
        child = subprocess.Popen(child_command(job_id), env=child_environment(), cwd=settings.REPO_DIR)
    except Exception as exc:  # a thread's exception would go unseen
        log.exception("export job %s: no child process", job_id)
        _fail(job_id, f"The export process could not start: {type(exc).__name__}: {exc}")
        return
    status, usage = _wait(child.pid, job_id, deadline=started + settings.EXPORT_TIMEOUT_S)
    child.returncode = os.waitstatus_to_exitcode(status)
    peak_mib = usage.ru_maxrss / 1024  # KiB on Linux
    log.info(
        "export job %s: child process %s, %s, peak_rss_mib=%.1f, seconds=%.2f",
        job_id,
        child.pid,
        _exit_reason(status),
        peak_mib,
        time.monotonic() - started,
    )
    if status != 0:
        _fail(job_id, f"The export process ended before the archive was written: {_exit_reason(status)}.")


def _abandoned(job_id: int) -> bool:
    """Whether the job was deleted or failed (by ``exports_sweep``) while its child ran: nobody wants its archive.
    A job that succeeded is not abandoned: its child is only exiting."""
    return not ExportJob.objects.filter(pk=job_id).exclude(status=JobStatus.FAILED).exists()


def _wait(pid: int, job_id: int, *, deadline: float) -> tuple[int, resource.struct_rusage]:
    """Reap the child (its wait status and resource use); kill it first once the job is no longer wanted or the
    deadline (``EXPORT_TIMEOUT_S`` after its start) passed, failing the job with the reason in that case."""
    checked = time.monotonic()
    while True:
        reaped, status, usage = os.wait4(pid, os.WNOHANG)
        if reaped:
            return status, usage
        now = time.monotonic()
        if now >= deadline:
            os.kill(pid, signal.SIGKILL)
            _fail(job_id, f"The export did not finish within {settings.EXPORT_TIMEOUT_S} s (EXPORT_TIMEOUT_S).")
            deadline = math.inf  # killed: only reaping is left
        elif now - checked >= JOB_CHECK_INTERVAL_S:
            checked = now
            if _abandoned(job_id):
                os.kill(pid, signal.SIGKILL)
        time.sleep(WAIT_POLL_S)


def _fail(job_id: int, error: str) -> None:
    """Fail the job unless it finished (a child can die after recording its outcome)."""
    ExportJob.objects.filter(pk=job_id, status__in=ACTIVE_STATUSES).update(
        status=JobStatus.FAILED, error=error[:2000], finished_at=timezone.now()
    )


def lower_priority(niceness: int) -> None:
    """Called by the child itself: the server's requests come first on a busy machine."""
    if niceness > 0:
        os.nice(niceness)
