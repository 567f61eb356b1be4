"""Write paths of the teamwork state: taking, releasing and breaking leases; presence entries.

Keyword-only plain functions like every app's services; the sockets (`backend.collab.consumer`,
`backend.interactive.consumer`) and the REST view call them. Who may edit is checked by the callers with the
one rule (`backend.images.selectors.edit_refusal`), as for every other write.
"""

from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser

from backend.annotations.models import AnnotationObject
from backend.collab import broadcast
from backend.collab.leases import Lease, lease_store
from backend.collab.presence import Presence, presence_store
from backend.common.errors import InvalidInput, ServiceError


class NoLease(ServiceError):
    status_code = 404
    code = "no_lease"


@dataclass(frozen=True)
class LeaseAnswer:
    granted: bool
    lease: Lease  # the connection's own lease when granted, else the other holder's
    released: int | None  # the object whose lease the connection gave up for this one


def lease_take(
    *, user: AbstractBaseUser, image_id: int, object_id: int, connection: str, previous: int | None = None
) -> LeaseAnswer:
    """Take (or renew) the lease on a saved object of the image for `connection`; one lease per connection, so
    the lease it held on another object (`previous`) is released first, granted or not. A request for an object
    that is not (or no longer) saved on the image changes nothing: the connection keeps the lease it held."""
    if not AnnotationObject.objects.filter(pk=object_id, image_id=image_id).exists():
        raise InvalidInput(f"Object {object_id} is not a saved object of this image.", code="unknown_object")
    released = None
    if previous is not None and previous != object_id and lease_store().release(previous, connection):
        released = previous
    wanted = Lease(object_id=object_id, image_id=image_id, holder=connection, user_id=user.pk, name=user.get_username())
    current = lease_store().take(wanted, settings.LEASE_TTL_S)
    return LeaseAnswer(granted=current.holder == connection, lease=current, released=released)


def lease_release(*, object_id: int, connection: str) -> bool:
    return lease_store().release(object_id, connection)


def lease_renew(*, object_id: int, connection: str) -> bool:
    return lease_store().renew(object_id, connection, settings.LEASE_TTL_S)


def lease_break(*, obj: AnnotationObject, by: AbstractBaseUser) -> Lease:
    """A manager breaks the object's lease: the holder's socket gets `lease_lost` (reason "broken"), everyone on
    the image the new lease list. The caller checks that `by` manages the project."""
    lease = lease_store().remove(obj.pk)
    if lease is None:
        raise NoLease("Nobody holds a lease on this object.")
    broadcast.lease_lost(lease.holder, lease.object_id, "broken", by)
    broadcast.leases_changed(lease.image_id)
    return lease


def presence_touch(*, project_id: int, entry: Presence) -> None:
    presence_store().touch(project_id, entry)


def presence_leave(*, project_id: int, connection: str) -> None:
    presence_store().leave(project_id, connection)
