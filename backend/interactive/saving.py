"""Saving a finished interactive object through the same services (and version rules) as the REST API."""

from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.http import Http404

from backend.annotations.api import ObjectOutput
from backend.annotations.models import ObjectSource
from backend.annotations.selectors import get_object_for
from backend.annotations.services import object_create, object_update
from backend.interactive.context import Refused, editable_image
from backend.interactive.session import ObjectSession


def save_object(
    *, user: AbstractBaseUser, image_id: int, obj: ObjectSession, polygons: list, client_key: str | None = None
) -> dict[str, Any]:
    image = editable_image(user, image_id)  # the caller may have lost the right to edit since connecting
    if obj.object_id is None:
        saved = object_create(
            image=image,
            author=user,
            label_id=obj.label_id,
            polygons=polygons,
            source=ObjectSource.INTERACTIVE,
            clicks_used=obj.clicks_used,
            seconds_spent=obj.seconds,
            client_key=client_key,
        )
    else:
        try:
            existing, _ = get_object_for(user, obj.object_id)
        except Http404 as exc:
            raise Refused("unknown_object", f"Object {obj.object_id} no longer exists.", 4404) from exc
        if existing.image_id != image_id:  # the socket's image is the one whose edit right was checked
            raise Refused("unknown_object", f"Object {obj.object_id} is not on this image.", 4404)
        saved = object_update(
            obj=existing,
            author=user,
            version=obj.object_version,
            label_id=obj.label_id,
            polygons=polygons,
            clicks_used=existing.clicks_used + obj.clicks_used,
            seconds_spent=existing.seconds_spent + obj.seconds,
        )
    return ObjectOutput(saved).data
