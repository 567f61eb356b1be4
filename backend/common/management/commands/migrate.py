"""`manage.py migrate`, which first makes the var directory (the SQLite database's home) and, when SECRET_KEY is
unset, the development secret key in it (var/secret_key).

Migrating is the first step of every set-up (`make run`, deploy/README, the tests' embedded default), so both
exist before a server needs them; reading the settings never writes anything.
"""

from django.conf import settings
from django.core.management.commands.migrate import Command as DjangoMigrate

from backend.config.env import ensure_secret_key_file


class Command(DjangoMigrate):
    def execute(self, *args, **options) -> str | None:
        # before Django's checks, which open the database
        settings.VAR_DIR.mkdir(parents=True, exist_ok=True)
        key_file = ensure_secret_key_file(settings.VAR_DIR)
        if key_file is not None and options.get("verbosity", 1) >= 2:
            self.stdout.write(f"Development secret key: {key_file}")
        return super().execute(*args, **options)
