"""Row locks, always taken in the same order (image, then its objects) so writers never deadlock."""

from backend.annotations.models import AnnotationObject
from backend.images.models import Image


def lock_image(image_id: int) -> Image:
    return Image.objects.select_for_update().get(pk=image_id)


def lock_object(object_id: int) -> AnnotationObject:
    obj = AnnotationObject.objects.filter(pk=object_id).values_list("image_id", flat=True).first()
    if obj is None:
        raise AnnotationObject.DoesNotExist(object_id)
    lock_image(obj)
    return AnnotationObject.objects.select_for_update().select_related("label").get(pk=object_id)
