from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet
from django.http import Http404

from backend.annotations.models import AnnotationObject, AnnotationRevision, Comment
from backend.images.models import Image
from backend.images.selectors import get_image_for
from backend.projects.models import Role


def image_objects(*, image: Image) -> QuerySet[AnnotationObject]:
    return image.annotation_objects.select_related("label").order_by("id")


def get_object_for(user: AbstractBaseUser, object_id: int) -> tuple[AnnotationObject, Role]:
    obj = AnnotationObject.objects.select_related("image", "label").filter(pk=object_id).first()
    if obj is None:
        raise Http404("No such object.")
    image, role = get_image_for(user, obj.image_id)
    obj.image = image
    return obj, role


def get_image_of_object_ever(user: AbstractBaseUser, object_id: int) -> tuple[Image, Role]:
    """The image an object is or was on (deleted objects too, from their history), or 404 for the caller."""
    image_id = AnnotationRevision.objects.filter(object_id=object_id).values_list("image_id", flat=True).first()
    if image_id is None:
        raise Http404("No such object.")
    return get_image_for(user, image_id)


def object_revisions(*, object_id: int) -> QuerySet[AnnotationRevision]:
    return AnnotationRevision.objects.filter(object_id=object_id).order_by("version")


def image_comments(*, image: Image) -> QuerySet[Comment]:
    return image.comments.select_related("author").order_by("id")
