"""Reads of the teamwork state: the lists the sockets send (leases, viewers) and the lease a REST write meets."""

from typing import Any

from django.conf import settings

from backend.collab.colours import person
from backend.collab.leases import Lease, lease_store
from backend.collab.presence import Presence, presence_store
from backend.common.errors import ServiceError


class ObjectLeased(ServiceError):
    """Another user holds the object's lease: 423 with the holder (the versions stay the guarantee)."""

    status_code = 423
    code = "object_leased"


def lease_items(leases: list[Lease], connection: str) -> list[dict[str, Any]]:
    """The protocol's lease list as `connection` sees it: `mine` is true for its own lease only (another tab of
    the same user is another holder)."""
    return [
        {"object": lease.object_id, "holder": person(lease.user_id, lease.name), "mine": lease.holder == connection}
        for lease in leases
    ]


def image_leases(image_id: int, connection: str) -> list[dict[str, Any]]:
    return lease_items(lease_store().of_image(image_id), connection)


def project_presence(project_id: int) -> list[Presence]:
    return presence_store().of_project(project_id, settings.PRESENCE_TTL_S)


def image_viewers(entries: list[Presence], image_id: int, user_id: int) -> list[dict[str, Any]]:
    """Everyone else with the image open: one entry per user (Person + role), by name."""
    seen: dict[int, dict[str, Any]] = {}
    for entry in entries:
        if entry.image_id == image_id and entry.user_id != user_id and entry.user_id not in seen:
            seen[entry.user_id] = {**person(entry.user_id, entry.name), "role": entry.role}
    return sorted(seen.values(), key=lambda v: (v["name"], v["id"]))


def project_viewers(entries: list[Presence]) -> list[dict[str, Any]]:
    """Everyone on the project (the caller too): one entry per user and place (Person + `image`: the image they
    have open, or null for the project page, and `batch`: that image's batch, or null), by name then image."""
    seen: dict[tuple[int, int | None], dict[str, Any]] = {}
    for entry in entries:
        place = {"image": entry.image_id, "batch": entry.batch_id}
        seen.setdefault((entry.user_id, entry.image_id), {**person(entry.user_id, entry.name), **place})
    return sorted(seen.values(), key=lambda v: (v["name"], v["id"], v["image"] or 0))


def lease_of(object_id: int) -> Lease | None:
    return lease_store().get(object_id)


def foreign_lease(*, object_id: int, user_id: int) -> Lease | None:
    """The object's lease when another user holds it (one's own leases, in any tab, never stop one's saves)."""
    lease = lease_store().get(object_id)
    return lease if lease is not None and lease.user_id != user_id else None


def require_not_leased(*, object_id: int, user_id: int) -> None:
    """Raise :class:`ObjectLeased` (423) while another user holds the object's lease."""
    lease = foreign_lease(object_id=object_id, user_id=user_id)
    if lease is not None:
        raise ObjectLeased(
            f"{lease.name} is editing this object.",
            fields={"code": ObjectLeased.code, "holder": person(lease.user_id, lease.name)},
        )
