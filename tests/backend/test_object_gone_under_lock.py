"""A write on an object that a concurrent delete removed after the view read it is 404, never a server error.

The view reads the object (`get_object_for`), then the service locks it (`lock_object`); a DELETE committed in
between (or while the write waited for the image's lock) leaves nothing to lock. The fuzz test of teamwork
(tests/collab/test_collab_fuzz.py) met this race as a 500."""

import pytest
from django.http import Http404

from backend.annotations.models import AnnotationObject
from backend.annotations.services import object_delete, object_update
from tests.conftest import SQUARE, World


def test_update_and_delete_of_an_object_deleted_meanwhile_are_404(world: World) -> None:
    read = AnnotationObject.objects.get(pk=world.obj.pk)  # what the view read
    AnnotationObject.objects.filter(pk=read.pk).delete()  # the other request's delete commits
    with pytest.raises(Http404):
        object_update(obj=read, author=world.users["manager"], version=1, polygons=SQUARE)
    with pytest.raises(Http404):
        object_delete(obj=read, author=world.users["manager"], version=1)
