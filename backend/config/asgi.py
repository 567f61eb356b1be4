"""ASGI entry point served by daphne: HTTP through Django, websockets through Channels."""

import os

from django.core.asgi import get_asgi_application

from backend.common.memory import limit_malloc_arenas

limit_malloc_arenas()  # before the server starts its threads: see backend/common/memory.py
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.config.settings")
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from backend.collab.consumer import websocket_urlpatterns as live_urlpatterns  # noqa: E402
from backend.common.body_limit import limit_request_body  # noqa: E402
from backend.interactive.auth import websocket_auth  # noqa: E402
from backend.interactive.consumer import websocket_urlpatterns  # noqa: E402
from backend.interactive.origin import SameOriginValidator  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": limit_request_body(django_asgi_app),
        "websocket": SameOriginValidator(websocket_auth(URLRouter(websocket_urlpatterns + live_urlpatterns))),
    }
)
