"""Websocket authentication: the session cookie (browsers) or `?token=` (scripts, benchmarks).

A connection is authenticated once, at connect; :func:`credentials_still_valid` re-checks that the credential
still stands (not logged out, expired, revoked or invalidated by a password change) when an object is started
and before clicks are computed, so a socket left open cannot outlive the login it was opened with.
"""

from importlib import import_module
from types import SimpleNamespace
from typing import Any
from urllib.parse import parse_qs

from channels.auth import AuthMiddlewareStack
from channels.db import database_sync_to_async
from django.conf import settings
from django.contrib.auth import get_user
from django.contrib.auth.models import AnonymousUser
from rest_framework.authtoken.models import Token


def _query_token(scope: dict[str, Any]) -> str | None:
    return parse_qs(scope.get("query_string", b"").decode()).get("token", [None])[0]


@database_sync_to_async
def _user_for_token(key: str):
    token = Token.objects.select_related("user").filter(key=key).first()
    return token.user if token and token.user.is_active else AnonymousUser()


class TokenAuthMiddleware:
    def __init__(self, inner) -> None:
        self.inner = inner

    async def __call__(self, scope, receive, send):
        token = _query_token(scope)
        if token:
            scope = {**scope, "user": await _user_for_token(token)}
        return await self.inner(scope, receive, send)


def websocket_auth(inner):
    """Session auth first; a token in the query string, when given, decides."""
    return AuthMiddlewareStack(TokenAuthMiddleware(inner))


def credentials_still_valid(scope: dict[str, Any]) -> bool:
    """Whether the token or session this connection was opened with still logs in the same, active user."""
    user = scope.get("user")
    if user is None or not user.is_authenticated:
        return False
    token = _query_token(scope)
    if token:
        return Token.objects.filter(key=token, user_id=user.pk, user__is_active=True).exists()
    session = scope.get("session")
    if session is None or not session.session_key:
        return False
    fresh = import_module(settings.SESSION_ENGINE).SessionStore(session.session_key)  # read again, not cached
    current = get_user(SimpleNamespace(session=fresh))
    return current.is_authenticated and current.pk == user.pk and current.is_active
