"""What the services tell the sockets: channel-layer messages to the groups `image.<id>` (annotate sockets of an
image) and `project.<id>` (project sockets), sent after the transaction commits (never about a change that rolled
back). The sockets forward `collab.message` events as they are and re-read the stores on `collab.leases` /
`collab.viewers` (docs/interactive-protocol.md, "Teamwork").
"""

import json
import logging
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction
from rest_framework.utils.encoders import JSONEncoder

from backend.collab.colours import person_of

log = logging.getLogger(__name__)


def image_group(image_id: int) -> str:
    return f"image.{image_id}"


def project_group(project_id: int) -> str:
    return f"project.{project_id}"


def _plain(data: Any) -> Any:
    """Serializer output as plain JSON types (the Redis channel layer packs messages with msgpack)."""
    return json.loads(json.dumps(data, cls=JSONEncoder))


def _send(targets: list[tuple[str, str]], event: dict[str, Any]) -> None:
    layer = get_channel_layer()
    try:
        for kind, name in targets:
            if kind == "group":
                async_to_sync(layer.group_send)(name, event)
            else:
                async_to_sync(layer.send)(name, event)
    except Exception:  # noqa: BLE001 - the change is saved; sockets heal by their periodic re-check and reconnects
        log.exception("could not broadcast %s", event.get("type"))


def _after_commit(targets: list[tuple[str, str]], event: dict[str, Any]) -> None:
    transaction.on_commit(lambda: _send(targets, event))


def message(**content: Any) -> dict[str, Any]:
    """A channel-layer event carrying one client message, forwarded as it is."""
    return {"type": "collab.message", "message": content}


def object_changed(obj: Any, action: str, by: Any) -> None:
    """An object was created, updated, deleted or restored: everyone on its image gets it as the REST API shows
    it. Call it inside the transaction, with the object as saved (before a delete clears its id)."""
    from backend.annotations.api import ObjectOutput  # the API's serializer: the same JSON as GET …/objects/

    event = message(type="object_changed", action=action, object=_plain(ObjectOutput(obj).data), by=person_of(by))
    _after_commit([("group", image_group(obj.image_id))], event)


def image_changed(image: Any, by: Any) -> None:
    """The image's status changed (review decisions, submission, the first object…)."""
    content = {"id": image.pk, "status": image.status, "batch": image.batch_id}
    event = message(type="image_changed", image=content, by=person_of(by))
    _after_commit([("group", image_group(image.pk)), ("group", project_group(image.project_id))], event)


def image_display_changed(image: Any, by: Any) -> None:
    """The image's display mapping changed: everyone on it reloads the rendering (and new objects use it)."""
    event = message(type="display_changed", image=image.pk, display=_plain(image.display), by=person_of(by))
    _after_commit([("group", image_group(image.pk))], event)


def images_changed(project_id: int, images: list[tuple[int, str, int | None]], by: Any) -> None:
    """Several images changed status at once: (id, status, batch) each."""
    who = person_of(by)
    for image_id, status, batch_id in images:
        event = message(type="image_changed", image={"id": image_id, "status": status, "batch": batch_id}, by=who)
        _after_commit([("group", image_group(image_id)), ("group", project_group(project_id))], event)


def comment_added(comment: Any) -> None:
    from backend.annotations.api import CommentOutput

    event = message(type="comment_added", comment=_plain(CommentOutput(comment).data))
    _after_commit([("group", image_group(comment.image_id))], event)


def batch_changed(batch: Any) -> None:
    content = {"id": batch.pk, "status": batch.status, "assignee": batch.assignee_id}
    _after_commit([("group", project_group(batch.project_id))], message(type="batch_changed", batch=content))


def leases_changed(image_id: int) -> None:
    """The image's leases changed: its sockets re-read them (and tell their client when theirs differ)."""
    _after_commit([("group", image_group(image_id))], {"type": "collab.leases"})


def lease_lost(holder: str, object_id: int, reason: str, by: Any) -> None:
    """To the connection that held a lease it no longer has."""
    event = {"type": "collab.lease_lost", "object": object_id, "reason": reason, "by": person_of(by)}
    _after_commit([("channel", holder)], event)
