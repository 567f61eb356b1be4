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


def object_revisions(*, object_id: int) -> QuerySet[AnnotationRevision]:
    return AnnotationRevision.objects.filter(object_id=object_id).order_by("version")


def image_comments(*, image: Image) -> QuerySet[Comment]:
    return image.comments.select_related("author").order_by("id")
