"""Throttling password guessing: after too many failed logins for one username, or from one address, within a
window, further attempts are refused (429 with Retry-After) until the window ends.

Counts live in Django's cache: Redis in team mode (every web process sees them), process memory in the embedded
default. Failures are counted from Django's ``user_login_failed`` signal, so every login path counts (login page,
token endpoint, admin); :class:`ThrottledModelBackend` refuses further attempts on every path too, and the login page
and the token endpoint say so with a 429.
"""

import hashlib
import time

from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest

from backend.common.errors import ServiceError


class TooManyAttempts(ServiceError):
    status_code = 429
    code = "throttled"

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"Too many failed logins; try again in {retry_after} s.", details={"retry_after": retry_after})
        self.retry_after = retry_after


def client_address(request: HttpRequest | None) -> str:
    """The peer's address (behind a proxy, run daphne with --proxy-headers so that this is the client's)."""
    return (getattr(request, "META", None) or {}).get("REMOTE_ADDR", "") or "unknown"


def _keys(request: HttpRequest | None, username: str) -> list[tuple[str, int]]:
    user_key = hashlib.sha256(username.strip().lower().encode()).hexdigest()[:32]
    return [
        (f"login-failures:user:{user_key}", settings.LOGIN_MAX_FAILURES_PER_USER),
        (f"login-failures:addr:{client_address(request)}", settings.LOGIN_MAX_FAILURES_PER_ADDRESS),
    ]


def retry_after(*, request: HttpRequest | None, username: str) -> int:
    """Seconds until this username may try again from this address; 0 when it may now."""
    wait = 0
    for key, limit in _keys(request, username):
        entry = cache.get(key)
        if entry and entry[0] >= limit:
            wait = max(wait, int(entry[1] - time.time()) + 1)
    return wait


def check(*, request: HttpRequest | None, username: str) -> None:
    wait = retry_after(request=request, username=username)
    if wait > 0:
        raise TooManyAttempts(wait)


def record_failure(*, request: HttpRequest | None, username: str) -> None:
    window = settings.LOGIN_FAILURE_WINDOW_S
    now = time.time()
    for key, _ in _keys(request, username):
        count, until = cache.get(key) or (0, now + window)
        cache.set(key, (count + 1, until), timeout=max(1, int(until - now) + 1))


def record_success(*, request: HttpRequest | None, username: str) -> None:
    """A successful login clears its username's failures (not its address's: one good account must not let an
    address go on guessing others)."""
    cache.delete(_keys(request, username)[0][0])


def on_login_failed(sender, credentials: dict, request: HttpRequest | None = None, **kwargs) -> None:
    record_failure(request=request, username=str(credentials.get("username", "")))


def on_logged_in(sender, request: HttpRequest, user, **kwargs) -> None:
    record_success(request=request, username=user.get_username())


class ThrottledModelBackend(ModelBackend):
    """Django's username/password backend, refusing every attempt while the username or address is throttled."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if username is not None and retry_after(request=request, username=str(username)) > 0:
            raise PermissionDenied("too many failed logins")
        return super().authenticate(request, username=username, password=password, **kwargs)
