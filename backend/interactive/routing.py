from django.urls import path

from backend.interactive.consumer import AnnotateConsumer

websocket_urlpatterns = [
    path("ws/images/<int:image_id>/annotate/", AnnotateConsumer.as_asgi()),
]
