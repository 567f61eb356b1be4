"""Reading settings from environment variables, and the setting values computed from them.

Everything here only reads: importing the settings never writes a file. The development secret key is written
by `ensure_secret_key_file`, which `manage.py migrate` calls (backend/common/management/commands/migrate.py).
"""

import os
import secrets
from pathlib import Path
from typing import Any

import dj_database_url

SECRET_KEY_FILE = "secret_key"  # in the var directory


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError as exc:
        raise ValueError(f"Environment variable {name} must be an integer, got {value!r}") from exc


def env_float(name: str, default: float) -> float:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return float(value)
    except ValueError as exc:
        raise ValueError(f"Environment variable {name} must be a number, got {value!r}") from exc


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


def secret_key(var_dir: Path) -> str:
    """SECRET_KEY from the environment, else the development key kept in ``var_dir``, else "" (Django then
    refuses what needs a key: run `manage.py migrate` once, or set SECRET_KEY)."""
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    key_file = var_dir / SECRET_KEY_FILE
    return key_file.read_text().strip() if key_file.exists() else ""


def ensure_secret_key_file(var_dir: Path) -> Path | None:
    """Without SECRET_KEY in the environment, the development key file in ``var_dir``, generated the first time
    (readable by its owner only). None when the environment gives the key."""
    if os.environ.get("SECRET_KEY"):
        return None
    key_file = var_dir / SECRET_KEY_FILE
    if not key_file.exists():
        var_dir.mkdir(parents=True, exist_ok=True)
        key_file.touch(mode=0o600)
        key_file.write_text(secrets.token_urlsafe(50))
    return key_file


def database(url: str, *, sqlite_file: Path, conn_max_age: int, sqlite_busy_timeout_s: int) -> dict[str, Any]:
    """The default database: ``url``, else an SQLite file.

    SQLite writers (several requests of one daphne) wait for each other instead of failing with "database is
    locked": write-ahead log (readers never block), and transactions that take the write lock when they begin,
    waiting up to ``sqlite_busy_timeout_s`` for it.
    """
    # A kept connection (conn_max_age > 0) is checked before a request reuses it: one to a server since restarted
    # is replaced, instead of failing that request (websockets' database threads keep theirs between messages).
    config = dj_database_url.parse(
        url or f"sqlite:///{sqlite_file}", conn_max_age=conn_max_age, conn_health_checks=conn_max_age > 0
    )
    if is_sqlite(config):
        config["OPTIONS"] = {
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "transaction_mode": "IMMEDIATE",
            "timeout": sqlite_busy_timeout_s,
        }
    return config


def is_sqlite(database_config: dict[str, Any]) -> bool:
    return database_config["ENGINE"].endswith("sqlite3")


def channel_layers(redis_url: str) -> dict[str, Any]:
    """Redis between processes in team mode; in memory in the embedded default (one process)."""
    if not redis_url:
        return {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    return {"default": {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {"hosts": [redis_url]}}}


def caches(redis_url: str) -> dict[str, Any]:
    """Shared by every web process in team mode (login throttling counts live here); else in process memory."""
    if not redis_url:
        return {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    redis = {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": redis_url, "KEY_PREFIX": "edgeflow"}
    return {"default": redis}


def job_runner_default(redis_url: str) -> str:
    """Where background jobs run unless configured: Celery workers in team mode, else a thread of this process."""
    return "celery" if redis_url else "local"


def proxy_ssl_header(trusted: bool) -> tuple[str, str] | None:
    """Trust the reverse proxy's X-Forwarded-Proto: https (only behind one that always sets the header)."""
    return ("HTTP_X_FORWARDED_PROTO", "https") if trusted else None
