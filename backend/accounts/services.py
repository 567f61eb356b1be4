import json

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from backend.accounts.models import Preferences
from backend.common.errors import InvalidInput

MAX_PREFERENCES_BYTES = 64 * 1024


def preferences_of(*, user: AbstractBaseUser) -> dict:
    prefs = Preferences.objects.filter(user=user).first()
    return prefs.data if prefs else {}


@transaction.atomic
def preferences_update(*, user: AbstractBaseUser, changes: dict) -> dict:
    """Merge `changes` into the stored preferences (top-level keys; a null value removes a key)."""
    if not isinstance(changes, dict):
        raise InvalidInput("Preferences must be a JSON object.", code="bad_preferences")
    if _has_nul(changes):
        raise InvalidInput("Preferences may not contain NUL characters.", code="bad_preferences")
    prefs, _ = Preferences.objects.select_for_update().get_or_create(user=user)
    merged = {**prefs.data, **changes}
    merged = {key: value for key, value in merged.items() if value is not None}
    if len(json.dumps(merged)) > MAX_PREFERENCES_BYTES:
        raise InvalidInput("Preferences are limited to 64 KB.", code="bad_preferences")
    prefs.data = merged
    prefs.save()
    return merged


def _has_nul(value: object) -> bool:
    """Whether a NUL character hides in any key or string of ``value`` (PostgreSQL's jsonb refuses them)."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(key) or _has_nul(item) for key, item in value.items())
    if isinstance(value, list):
        return any(_has_nul(item) for item in value)
    return False
