"""Which pages may open a websocket: the app's own origin, and the origins listed in CSRF_TRUSTED_ORIGINS.

Cookies are not scoped by port, so a page served by any other program on the same host (another port) could
otherwise open a socket with the annotator's session. The Origin a browser sends must name the host and port
the socket was opened on (its Host header, itself one of ALLOWED_HOSTS), or be trusted explicitly.
"""

from urllib.parse import urlsplit

from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.http.request import split_domain_port, validate_host

DEFAULT_PORTS = {"http": "80", "https": "443", "ws": "80", "wss": "443"}


def _header(scope: dict, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return value.decode("latin1")
    return None


def _netloc(host: str, scheme: str) -> str:
    """``host:port`` in lower case, with the scheme's default port written out."""
    domain, port = split_domain_port(host.lower())
    return f"{domain}:{port or DEFAULT_PORTS.get(scheme, '')}"


def origin_allowed(*, origin: str | None, host: str | None, secure: bool) -> bool:
    if not origin or not host:
        return False
    parts = urlsplit(origin.strip().lower())
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        return False
    if f"{parts.scheme}://{parts.netloc}" in {o.lower().rstrip("/") for o in settings.CSRF_TRUSTED_ORIGINS}:
        return True
    domain, _ = split_domain_port(host.lower())
    if not domain or not validate_host(domain, settings.ALLOWED_HOSTS):
        return False
    # Behind a TLS proxy the socket arrives as ws:// although the page is https://: compare host and port only,
    # the port of a port-less Host being the default one of the page's scheme.
    return _netloc(parts.netloc, parts.scheme) == _netloc(host, parts.scheme if not secure else "https")


class SameOriginValidator:
    """ASGI middleware refusing (403 at the handshake) websockets opened from another origin."""

    def __init__(self, application) -> None:
        self.application = application

    async def __call__(self, scope, receive, send):
        allowed = origin_allowed(
            origin=_header(scope, b"origin"), host=_header(scope, b"host"), secure=scope.get("scheme") == "wss"
        )
        if allowed:
            return await self.application(scope, receive, send)
        return await WebsocketDenier()(scope, receive, send)
