"""Settings of the test suite (pytest's DJANGO_SETTINGS_MODULE): the app's settings, read from the environment as
in production, plus the few values only tests want. Servers the tests start inherit DJANGO_SETTINGS_MODULE, so
they run these too."""

from backend.config.env import env_str, is_sqlite
from backend.config.settings import *  # noqa: F403
from backend.config.settings import DATABASES, VAR_DIR

# A fixed key: no var/secret_key needed (SECRET_KEY still wins, for tests of a deployment's environment).
SECRET_KEY = env_str("SECRET_KEY") or "edgeflow-tests-only-a-fixed-key-never-used-outside-the-test-suite-0123456789"

# Users are created by the hundred; hashing their passwords slowly would only slow the suite down.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# Without DATABASE_URL: an SQLite test database in a file, not memory, so that servers the tests start share it.
_SQLITE_TEST_DATABASE = {"NAME": str(VAR_DIR / "test.sqlite3")} if is_sqlite(DATABASES["default"]) else {}
DATABASES = {"default": {**DATABASES["default"], "TEST": _SQLITE_TEST_DATABASE}}
