"""What a websocket connection needs to know about its image, read once from the database."""

from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.http import Http404

from backend.images.models import Image
from backend.images.renderings import rendering_of
from backend.images.selectors import edit_refusal, get_image_for
from backend.images.tiles import inference_path, pyramid_of
from backend.projects.models import Role
from backend.training.selectors import project_models


@dataclass(frozen=True)
class ImageContext:
    image_id: int
    project_id: int
    width: int
    height: int
    path: str  # the rendering of `slice` the model segments (the file itself for a photo)
    sha256: str  # names those pixels (the inference caches key working copies by it)
    label_ids: frozenset[int]
    default_model: str
    models: tuple[str, ...]  # the models this project may use: the general ones and its own versions
    refusal: str | None = None  # why the user may not edit the image now (None: they may); they may still watch
    slices: int = 1
    slice: int = 0  # the slice the object under way lies on
    batch_id: int | None = None  # the image's batch (presence on the project page)

    @property
    def can_edit(self) -> bool:
        return self.refusal is None


class Refused(Exception):
    def __init__(self, code: str, message: str, close_code: int) -> None:
        super().__init__(message)
        self.code, self.message, self.close_code = code, message, close_code


def load_context(user: AbstractBaseUser, image_id: int, slice_index: int = 0) -> ImageContext:
    """The image if `user` may see it (any project member it is visible to, the REST API's rule), with why they may
    not edit it now (`refusal`, None when they may); raises Refused (unauthenticated, not_found) otherwise.

    The pixels are those of slice ``slice_index`` as shown now (its rendering, made if missing)."""
    image, role = visible_image(user, image_id)
    rendering = rendering_of(image, min(slice_index, image.slice_count - 1))
    tiled = not image.is_source and pyramid_of(image) is not None  # a gigapixel photo: segmented from its pyramid
    return ImageContext(
        image_id=image.pk,
        project_id=image.project_id,
        width=image.width,
        height=image.height,
        path=inference_path(image) if tiled else str(rendering.path),  # a tiled image: its pyramid
        sha256=image.sha256 if tiled else rendering.key,
        slices=image.slice_count,
        slice=min(slice_index, image.slice_count - 1),
        label_ids=frozenset(image.project.labels.values_list("pk", flat=True)),
        default_model=image.project.default_model or settings.DEFAULT_MODEL_NAME,
        models=tuple(project_models(image.project)),
        refusal=edit_refusal(user=user, image=image, role=role),
        batch_id=image.batch_id,
    )


def visible_image(user: AbstractBaseUser, image_id: int) -> tuple[Image, Role]:
    """The image and the user's role, if ``user`` may see it; raises Refused (4401 anonymous, 4404 otherwise)."""
    if not user.is_authenticated:
        raise Refused("unauthenticated", "Log in (session) or pass ?token=.", 4401)
    try:
        return get_image_for(user, image_id)
    except Http404 as exc:
        raise Refused("not_found", "No such image.", 4404) from exc


def editable_image(user: AbstractBaseUser, image_id: int) -> Image:
    """The image, if ``user`` may edit it in its current state; raises Refused otherwise."""
    image, role = visible_image(user, image_id)
    refusal = edit_refusal(user=user, image=image, role=role)
    if refusal:
        raise Refused("forbidden", refusal, 4403)
    return image
