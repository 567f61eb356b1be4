"""The settings layer: the app's settings are a read of the environment (every variable of README's
"Configuration" table reaches its setting; importing them writes nothing), `manage.py migrate` writes the
development secret key, and the suite runs `backend.config.test_settings`, which changes only test values."""

import json
import os
import re
import stat
import subprocess
import sys
from pathlib import Path

from django.conf import settings

from backend.config import settings as app_settings
from backend.config import test_settings
from tests.conftest import REPO_DIR

READ_SETTINGS = """
import json, os, sys
os.environ["DJANGO_SETTINGS_MODULE"] = "backend.config.settings"
import django
django.setup()
from django.conf import settings as s
print(json.dumps({name: eval(expression, {"s": s}) for name, expression in json.loads(sys.argv[1]).items()},
                 default=str))
"""

# variable: (value set, expression over the settings `s`, what it gives with the value, what it gives by default)
TEAM_VARIABLES = {
    "DATABASE_URL": (
        "postgres://u:p@db.example:5433/labels",
        "[s.DATABASES['default'][k] for k in ('HOST', 'NAME')]",
        ["db.example", "labels"],
        ["", str(REPO_DIR / "var" / "edgeflow.sqlite3")],
    ),
    "DATABASE_CONN_MAX_AGE": (
        "60",
        "[s.DATABASES['default'][k] for k in ('CONN_MAX_AGE', 'CONN_HEALTH_CHECKS')]",
        [60, True],
        [0, False],
    ),
    "REDIS_URL": (
        "redis://redis.example:6379/2",
        "[s.CHANNEL_LAYERS['default']['BACKEND'], s.CACHES['default'].get('LOCATION', ''), s.CELERY_BROKER_URL,"
        " s.INFERENCE_BACKEND, s.CELERY_TASK_ALWAYS_EAGER]",
        [
            "channels_redis.core.RedisChannelLayer",
            "redis://redis.example:6379/2",
            "redis://redis.example:6379/2",
            "celery",
            False,
        ],
        ["channels.layers.InMemoryChannelLayer", "", "memory://", "local", True],
    ),
    "SECRET_KEY": ("k" * 60, "s.SECRET_KEY", "k" * 60, None),
    "DEBUG": ("1", "s.DEBUG", True, False),
    "ALLOWED_HOSTS": (
        "a.example, b.example",
        "s.ALLOWED_HOSTS",
        ["a.example", "b.example"],
        ["127.0.0.1", "localhost"],
    ),
    "CSRF_TRUSTED_ORIGINS": ("https://a.example", "s.CSRF_TRUSTED_ORIGINS", ["https://a.example"], []),
    "EDGEFLOW_VAR_DIR": (
        "/srv/edgeflow-var",
        "[str(s.VAR_DIR), str(s.STATIC_ROOT)]",
        ["/srv/edgeflow-var", "/srv/edgeflow-var/static"],
        [str(REPO_DIR / "var"), str(REPO_DIR / "var" / "static")],
    ),
    "MEDIA_ROOT": ("/srv/media", "str(s.MEDIA_ROOT)", "/srv/media", str(REPO_DIR / "var" / "media")),
    "MAX_UPLOAD_BYTES": ("1000", "s.MAX_UPLOAD_BYTES", 1000, 1024**3),
    "MAX_IMAGE_PIXELS": ("1001", "s.MAX_IMAGE_PIXELS", 1001, 150_000_000),
    "TILED_MIN_PIXELS": ("1008", "s.TILED_MIN_PIXELS", 1008, 4096 * 4096),
    "MAX_TILED_PIXELS": ("1009", "s.MAX_TILED_PIXELS", 1009, 2**32 - 1),
    "MAX_SOURCE_SAMPLES": ("5000", "s.MAX_SOURCE_SAMPLES", 5000, 1_000_000_000),
    "MAX_ZIP_MEMBERS": ("1002", "s.MAX_ZIP_MEMBERS", 1002, 10_000),
    "MAX_IMPORT_BYTES": ("1003", "s.MAX_IMPORT_BYTES", 1003, 64 * 1024**2),
    "DATA_UPLOAD_MAX_MEMORY_SIZE": ("1004", "s.DATA_UPLOAD_MAX_MEMORY_SIZE", 1004, 10 * 1024**2),
    "MAX_POLYGONS_PER_OBJECT": ("1005", "s.MAX_POLYGONS_PER_OBJECT", 1005, 1000),
    "MAX_VERTICES_PER_OBJECT": ("1006", "s.MAX_VERTICES_PER_OBJECT", 1006, 50_000),
    "MAX_POLYGON_BOX_COVERAGE": ("3", "s.MAX_POLYGON_BOX_COVERAGE", 3, 16),
    "INFERENCE_MAX_PIXELS": ("1007", "s.INFERENCE_MAX_PIXELS", 1007, 4096 * 4096),
    "INFERENCE_WORKING_DIR": (
        "/srv/working",
        "str(s.INFERENCE_WORKING_DIR)",
        "/srv/working",
        str(REPO_DIR / "var" / "media" / "working"),
    ),
    "LOGIN_MAX_FAILURES_PER_USER": ("7", "s.LOGIN_MAX_FAILURES_PER_USER", 7, 5),
    "LOGIN_MAX_FAILURES_PER_ADDRESS": ("70", "s.LOGIN_MAX_FAILURES_PER_ADDRESS", 70, 50),
    "LOGIN_FAILURE_WINDOW_S": ("60", "s.LOGIN_FAILURE_WINDOW_S", 60, 900),
    "TRUST_X_FORWARDED_PROTO": ("1", "s.SECURE_PROXY_SSL_HEADER", ["HTTP_X_FORWARDED_PROTO", "https"], None),
    "SECURE_SSL_REDIRECT": ("1", "s.SECURE_SSL_REDIRECT", True, False),
    "SESSION_COOKIE_SECURE": ("1", "s.SESSION_COOKIE_SECURE", True, False),
    "CSRF_COOKIE_SECURE": ("1", "s.CSRF_COOKIE_SECURE", True, False),
    "SECURE_HSTS_SECONDS": ("3600", "s.SECURE_HSTS_SECONDS", 3600, 0),
    "SECURE_HSTS_INCLUDE_SUBDOMAINS": ("1", "s.SECURE_HSTS_INCLUDE_SUBDOMAINS", True, False),
    "THUMBNAIL_SIZE": ("128", "s.THUMBNAIL_SIZE", 128, 256),
    "API_PAGE_SIZE": ("20", "s.REST_FRAMEWORK['PAGE_SIZE']", 20, 50),
    "EDGEFLOW_DEFAULT_MODEL": (
        "edgeflow-hrnet18-ours",
        "s.DEFAULT_MODEL_NAME",
        "edgeflow-hrnet18-ours",
        "hrnet18-ocr64-cocolvis",
    ),
    "TRAINING_BACKEND": ("local", "s.TRAINING_BACKEND", "local", "local"),
    "FINETUNE_ITERATIONS": ("5", "s.FINETUNE_ITERATIONS", 5, 60),
    "FINETUNE_BATCH_SIZE": ("4", "s.FINETUNE_BATCH_SIZE", 4, 2),
    "FINETUNE_CROP_HEIGHT": ("100", "s.FINETUNE_CROP_SIZE[0]", 100, 320),
    "FINETUNE_CROP_WIDTH": ("200", "s.FINETUNE_CROP_SIZE[1]", 200, 480),
    "FINETUNE_LR": ("0.001", "s.FINETUNE_LR", 0.001, 1e-4),
    "FINETUNE_THREADS": ("2", "s.FINETUNE_THREADS", 2, 1),
    "FINETUNE_MIN_OBJECTS": ("3", "s.FINETUNE_MIN_OBJECTS", 3, 2),
    "FINETUNE_HELDOUT_FRACTION": ("0.5", "s.FINETUNE_HELDOUT_FRACTION", 0.5, 0.25),
    "FINETUNE_VAL_MAX_CLICKS": ("4", "s.FINETUNE_VAL_MAX_CLICKS", 4, 10),
    "FINETUNE_MAX_HELDOUT": ("9", "s.FINETUNE_MAX_HELDOUT", 9, 50),
    "INFERENCE_ENGINE": ("torch", "s.INFERENCE_ENGINE", "torch", ""),
    "INFERENCE_THREADS": ("1", "s.INFERENCE_THREADS", 1, 0),
    "INFERENCE_MAX_WAIT_S": ("0.5", "s.INFERENCE_MAX_WAIT_S", 0.5, 3.0),
    "INFERENCE_TIMEOUT_S": ("9", "s.INFERENCE_TIMEOUT_S", 9, 20),
    "EXPORTS_BACKEND": ("local", "s.EXPORTS_BACKEND", "local", "process"),
    "EXPORT_NICENESS": ("0", "s.EXPORT_NICENESS", 0, 5),
    "EXPORTS_DIR": ("/srv/exports", "s.EXPORTS_DIR", "/srv/exports", ""),
    "EXPORT_RETENTION_HOURS": ("2.5", "s.EXPORT_RETENTION_HOURS", 2.5, 24.0),
    "EXPORT_TIMEOUT_S": ("600", "s.EXPORT_TIMEOUT_S", 600, 7200),
    "LOG_LEVEL": ("DEBUG", "s.LOGGING['root']['level']", "DEBUG", "INFO"),
    "LEASE_TTL_S": ("90", "s.LEASE_TTL_S", 90.0, 60.0),
    "LEASE_HEARTBEAT_S": ("5", "s.LEASE_HEARTBEAT_S", 5.0, 15.0),
    "LEASE_SILENCE_S": ("20", "s.LEASE_SILENCE_S", 20.0, 30.0),
    "PRESENCE_TTL_S": ("30", "s.PRESENCE_TTL_S", 30.0, 45.0),
}
# Read only without DATABASE_URL (the embedded default's SQLite).
EMBEDDED_VARIABLES = {
    "SQLITE_BUSY_TIMEOUT_S": ("5", "s.DATABASES['default']['OPTIONS']['timeout']", 5, 30),
}
VARIABLES = TEAM_VARIABLES | EMBEDDED_VARIABLES


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without any configuration variable (nor the suite's settings module)."""
    env = {k: v for k, v in os.environ.items() if k not in VARIABLES and k != "DJANGO_SETTINGS_MODULE"}
    return env | extra


def read_settings(env: dict[str, str], expressions: dict[str, str]) -> dict:
    result = subprocess.run([sys.executable, "-c", READ_SETTINGS, json.dumps(expressions)], cwd=REPO_DIR, env=env,
                            capture_output=True, text=True, timeout=120)  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout)


def manage(*args: str, env: dict[str, str]) -> None:
    result = subprocess.run([sys.executable, "manage.py", *args], cwd=REPO_DIR, env=env, capture_output=True,
                            text=True, timeout=300)  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]


def documented_variables() -> set[str]:
    """The names in the first column of README's configuration table."""
    readme = (REPO_DIR / "README.md").read_text()
    table = readme.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    rows = [line.split("|")[1] for line in table.splitlines() if line.startswith("| `")]
    return {name for cell in rows for name in re.findall(r"`([A-Z][A-Z0-9_]+)`", cell)}


def test_every_documented_variable_is_read() -> None:
    missing = documented_variables() - VARIABLES.keys()
    assert not missing, f"README documents {sorted(missing)}: add them here, with the setting each one sets"


def test_each_variable_reaches_its_setting_and_has_its_default(tmp_path: Path) -> None:
    set_values = {name: value for name, (value, *_) in TEAM_VARIABLES.items()}
    expressions = {name: expression for name, (_, expression, *_) in TEAM_VARIABLES.items()}
    assert read_settings(clean_env(**set_values), expressions) == {
        name: expected for name, (_, _, expected, _) in TEAM_VARIABLES.items()
    }
    defaults = {name: expression for name, (_, expression, _, default) in VARIABLES.items() if name != "SECRET_KEY"}
    assert read_settings(clean_env(), defaults) == {
        name: default for name, (*_, default) in VARIABLES.items() if name != "SECRET_KEY"
    }
    embedded = {name: value for name, (value, *_) in EMBEDDED_VARIABLES.items()}
    expressions = {name: expression for name, (_, expression, *_) in EMBEDDED_VARIABLES.items()}
    assert read_settings(clean_env(**embedded), expressions) == {
        name: expected for name, (_, _, expected, _) in EMBEDDED_VARIABLES.items()
    }


def test_reading_the_settings_writes_nothing(tmp_path: Path) -> None:
    var = tmp_path / "var"
    values = read_settings(clean_env(EDGEFLOW_VAR_DIR=str(var)), {"key": "s._wrapped.SECRET_KEY"})
    assert values == {"key": ""}  # no key yet: Django refuses what needs one
    assert not var.exists()


def test_migrate_writes_the_development_key_once_and_the_settings_read_it(tmp_path: Path) -> None:
    var = tmp_path / "var"
    env = clean_env(EDGEFLOW_VAR_DIR=str(var))
    manage("migrate", "--noinput", env=env)
    key_file = var / "secret_key"
    key = key_file.read_text()
    assert len(key) >= 50 and stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert read_settings(env, {"key": "s.SECRET_KEY"}) == {"key": key}
    manage("migrate", "--noinput", env=env)
    assert key_file.read_text() == key
    assert read_settings(env | {"SECRET_KEY": "from-the-environment" * 3}, {"key": "s.SECRET_KEY"}) == {
        "key": "from-the-environment" * 3
    }


def test_migrate_writes_no_key_when_the_environment_gives_one(tmp_path: Path) -> None:
    var = tmp_path / "var"
    manage("migrate", "--noinput", env=clean_env(EDGEFLOW_VAR_DIR=str(var), SECRET_KEY="k" * 60))
    assert (var / "edgeflow.sqlite3").exists() and not (var / "secret_key").exists()


def test_the_suite_runs_the_test_settings() -> None:
    assert os.environ["DJANGO_SETTINGS_MODULE"] == "backend.config.test_settings"
    assert settings.PASSWORD_HASHERS == ["django.contrib.auth.hashers.MD5PasswordHasher"]
    assert settings.SECRET_KEY == test_settings.SECRET_KEY
    assert os.environ.get("SECRET_KEY") or settings.SECRET_KEY.startswith("edgeflow-tests-only-")


def test_the_test_settings_change_only_test_values() -> None:
    def values(module) -> dict:
        return {name: getattr(module, name) for name in dir(module) if name.isupper() and not name.startswith("_")}

    app, test = values(app_settings), values(test_settings)
    changed = {name for name in app.keys() | test.keys() if app.get(name) != test.get(name)}
    assert changed <= {"SECRET_KEY", "PASSWORD_HASHERS", "DATABASES"}
    # the same database (pytest-django renames it to its test database once it has made that)
    app_database, test_database = app["DATABASES"]["default"], test["DATABASES"]["default"]
    assert {k: test_database[k] for k in app_database if k != "NAME"} == {
        k: v for k, v in app_database.items() if k != "NAME"
    }
