"""Websocket routes."""

from backend.interactive.routing import websocket_urlpatterns

__all__ = ["websocket_urlpatterns"]
