"""Write paths for images (upload, delete, status) and batches (create, assign, submit, review)."""

import tempfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.files.base import ContentFile, File
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import QuerySet
from django.db.models.fields.files import FieldFile

from backend.collab import broadcast
from backend.common.errors import Conflict, InvalidInput, TooLarge
from backend.common.text import checked_text
from backend.images import large, tiles
from backend.images.archives import stage_zip_images
from backend.images.decoding import CheckedImage, check_image, make_thumbnail, source_thumbnail
from backend.images.display import checked_display, display_digest
from backend.images.models import Batch, BatchStatus, Image, ImageStatus
from backend.images.orphans import discard_unreferenced
from backend.images.renderings import discard_renderings
from backend.images.selectors import images_in, unbatched_images
from backend.images.sources.dicom_series import is_series_file
from backend.images.sources.stacks import prepare_stacks
from backend.images.staging import StagedFile, UploadBudget, stage
from backend.projects.access import role_in
from backend.projects.models import Project, Role


@dataclass
class UploadReport:
    created: list[Image] = field(default_factory=list)
    duplicates: list[dict] = field(default_factory=list)


def _check_received_size(files: list[UploadedFile]) -> None:
    """A quick refusal on the sizes as received; the budget then counts what is really read and unpacked."""
    total = sum(f.size or 0 for f in files)
    if total > settings.MAX_UPLOAD_BYTES:
        raise TooLarge(
            f"The upload is {total:,} bytes, above the limit of {settings.MAX_UPLOAD_BYTES:,} (MAX_UPLOAD_BYTES).",
            code="upload_too_large",
        )


def _read_uploads(files: list[UploadedFile], directory: Path) -> list[StagedFile]:
    """Every file, and every image of every zip, copied to `directory` under one byte budget for the request."""
    budget = UploadBudget(settings.MAX_UPLOAD_BYTES)
    staged: list[StagedFile] = []
    for upload in files:
        name = PurePosixPath(upload.name or "upload").name
        upload.seek(0)
        if name.lower().endswith(".zip"):
            staged.extend(stage_zip_images(name=name, stream=upload.file, directory=directory, budget=budget))
        else:
            staged.append(stage(name=name, source=upload, directory=directory, budget=budget))
    return staged


def _check_all(staged: list[StagedFile]) -> list[CheckedImage]:
    """Check every file first, so one bad file stores nothing; all errors are reported together."""
    checked, errors = [], []
    longest = Image._meta.get_field("original_name").max_length
    for item in staged:
        try:
            if len(item.name) > longest:
                raise InvalidInput(
                    f"{item.name[:60]}…: the name is longer than {longest} characters.", code="name_too_long"
                )
            checked.append(large.check_large(staged=item) or check_image(staged=item))
        except InvalidInput as exc:
            errors.append({"file": item.name, "error": exc.code, "detail": exc.message})
    if errors:
        raise InvalidInput(
            f"{len(errors)} of {len(staged)} file(s) were rejected; nothing was stored.",
            code="invalid_upload",
            details=errors,
        )
    return checked


def _save_file(field_file: FieldFile, name: str, content: File, written: list[str]) -> None:
    """Save under the content-addressed name; remember the file if this request created it."""
    existed = field_file.storage.exists(field_file.field.generate_filename(field_file.instance, name))
    field_file.save(name, content, save=False)
    if not existed:
        written.append(field_file.name)


SUFFIXES = {"JPEG": "jpg", "TIFF": "tif", "GEOTIFF": "tif", "DICOM": "dcm", "NIFTI": "nii"}


def _store(project: Project, checked: CheckedImage, user: AbstractBaseUser, written: list[str]) -> Image:
    suffix = "zip" if is_series_file(checked.path) else SUFFIXES.get(checked.format, checked.format.lower())
    image = Image(
        project=project,
        original_name=checked.name,
        width=checked.width,
        height=checked.height,
        format=checked.format,
        size_bytes=checked.size,
        sha256=checked.sha256,
        uploaded_by=user,
    )
    info = checked.source_info
    if info is not None:
        image.kind, image.slice_count, image.band_count = info.kind, info.slices, info.bands
        image.sample_type, image.display, image.presets = info.sample_type, info.display, info.presets
        image.meta, image.private_meta = info.meta, info.private_meta
    with checked.path.open("rb") as handle:
        _save_file(image.file, f"{checked.sha256}.{suffix}", File(handle), written)
    if checked.source is not None:
        thumb = source_thumbnail(checked.source, settings.THUMBNAIL_SIZE)
    else:
        thumb = large.store(checked, written) or make_thumbnail(checked.path, settings.THUMBNAIL_SIZE)
    _save_file(image.thumbnail, f"{checked.sha256}.jpg", ContentFile(thumb), written)
    image.save()
    return image


def _store_all(
    project: Project, checked: list[CheckedImage], user: AbstractBaseUser, written: list[str]
) -> UploadReport:
    report = UploadReport()
    seen: dict[str, str] = {}
    with transaction.atomic():
        existing = dict(
            Image.objects.filter(project=project, sha256__in=[c.sha256 for c in checked]).values_list("sha256", "id")
        )
        for item in checked:
            if item.sha256 in existing:
                report.duplicates.append({"file": item.name, "existing_id": existing[item.sha256]})
            elif item.sha256 in seen:
                report.duplicates.append({"file": item.name, "same_as": seen[item.sha256]})
            else:
                seen[item.sha256] = item.name
                report.created.append(_store(project, item, user, written))
    return report


def images_upload(*, project: Project, files: list[UploadedFile], uploaded_by: AbstractBaseUser) -> UploadReport:
    """Store the images of `files` (zips unpacked) all or nothing, streaming through temporary files."""
    if not files:
        raise InvalidInput("No files were sent (use the multipart field 'files').", code="no_files")
    _check_received_size(files)
    with tempfile.TemporaryDirectory(prefix="edgeflow-upload-", dir=settings.FILE_UPLOAD_TEMP_DIR) as directory:
        staged = prepare_stacks(_read_uploads(files, Path(directory)), Path(directory))  # series, gzip NIfTI
        checked = _check_all(staged)
        if not checked:
            raise InvalidInput("The upload contains no image files.", code="no_images")
        written: list[str] = []
        try:
            return _store_all(project, checked, uploaded_by, written)
        except BaseException:
            # The rows rolled back: their files must go too, or they stay on disk with nothing pointing at them.
            discard_unreferenced(written)
            raise


@transaction.atomic
def image_delete(*, image: Image) -> None:
    storage_files = [image.file, image.thumbnail]
    image.delete()
    transaction.on_commit(lambda: [f.delete(save=False) for f in storage_files])
    transaction.on_commit(lambda: tiles.delete_pyramid_unless_used(image.sha256))
    if image.is_source:
        transaction.on_commit(lambda: discard_renderings(image))


@transaction.atomic
def image_set_display(*, image: Image, display: object, by: AbstractBaseUser | None = None) -> Image:
    """Show ``image`` through the mapping ``display`` (checked); the browser and the model see the new rendering
    from the next object on, and the old renderings go."""
    if not image.is_source:
        raise InvalidInput("This image is shown as stored: it has no display mapping.", code="not_a_source")
    image = Image.objects.select_for_update().get(pk=image.pk)
    image.display = checked_display(display, bands=image.band_count)
    image.save(update_fields=["display"])
    keep = display_digest(image.display)
    transaction.on_commit(lambda: discard_renderings(image, keep_digest=keep))
    broadcast.image_display_changed(image, by)
    return image


def image_mark_in_progress(*, image: Image, by: AbstractBaseUser | None = None) -> None:
    if image.status in {ImageStatus.NEW, ImageStatus.REJECTED}:
        Image.objects.filter(pk=image.pk).update(status=ImageStatus.IN_PROGRESS)
        image.status = ImageStatus.IN_PROGRESS
        broadcast.image_changed(image, by)


def _set_status(images: QuerySet[Image], status: str, *, project_id: int, by: AbstractBaseUser | None) -> None:
    """``images`` get ``status``; those whose status changes are announced (`image_changed`)."""
    changed = list(images.exclude(status=status).order_by("id").values_list("id", "batch_id"))
    images.update(status=status)
    broadcast.images_changed(project_id, [(pk, status, batch_id) for pk, batch_id in changed], by)


def _check_member(project: Project, user_id: int | None, roles: set[Role], what: str) -> AbstractBaseUser | None:
    if user_id is None:
        return None
    user = get_user_model().objects.filter(pk=user_id).first()
    role = role_in(user, project) if user else None
    if role is None:
        raise InvalidInput(f"User {user_id} is not a member of this project.", code="not_a_member")
    if role not in roles:
        raise InvalidInput(f"User {user_id} is a {role.value} and cannot be the {what}.", code="wrong_role")
    return user


ASSIGNEE_ROLES = {Role.ANNOTATOR, Role.MANAGER, Role.ADMIN}
REVIEWER_ROLES = {Role.REVIEWER, Role.MANAGER, Role.ADMIN}


@transaction.atomic
def batches_create(
    *,
    project: Project,
    image_ids: list[int] | None = None,
    size: int | None = None,
    name: str = "",
    assignee_id: int | None = None,
    reviewer_id: int | None = None,
) -> list[Batch]:
    """One batch from a selection of images, or all unbatched images split into batches of `size`."""
    if (image_ids is None) == (size is None):
        raise InvalidInput("Give either image_ids or size.", code="batch_spec")
    assignee = _check_member(project, assignee_id, ASSIGNEE_ROLES, "assignee")
    reviewer = _check_member(project, reviewer_id, REVIEWER_ROLES, "reviewer")
    if image_ids is not None:
        groups = [_selected_images(project, image_ids)]
    else:
        if size < 1:
            raise InvalidInput("size must be at least 1.", code="batch_spec")
        free = list(unbatched_images(project=project).select_for_update())
        if not free:
            raise InvalidInput("Every image is already in a batch.", code="no_free_images")
        groups = [free[i : i + size] for i in range(0, len(free), size)]
    start = Batch.objects.filter(project=project).count()
    batches = []
    for offset, images in enumerate(groups, start=1):
        label = name if name and len(groups) == 1 else f"{name or 'Batch'} {start + offset}"
        checked_text(label, field="batch name", max_length=Batch._meta.get_field("name").max_length)
        batch = Batch.objects.create(project=project, name=label, assignee=assignee, reviewer=reviewer)
        Image.objects.filter(pk__in=[i.pk for i in images]).update(batch=batch)
        batches.append(batch)
    return batches


def _selected_images(project: Project, image_ids: list[int]) -> list[Image]:
    if not image_ids:
        raise InvalidInput("image_ids is empty.", code="batch_spec")
    images = list(images_in(project, image_ids).select_for_update())
    missing = set(image_ids) - {i.pk for i in images}
    if missing:
        raise InvalidInput(f"Unknown image ids: {sorted(missing)}.", code="unknown_image")
    taken = [i.pk for i in images if i.batch_id is not None]
    if taken:
        raise Conflict(f"Images already in a batch: {taken}.", code="already_batched")
    return images


_UNSET = object()


@transaction.atomic
def batch_update(*, batch: Batch, name: str | None = None, assignee_id=_UNSET, reviewer_id=_UNSET) -> Batch:
    batch = Batch.objects.select_for_update().get(pk=batch.pk)
    if name is not None:
        batch.name = checked_text(name, field="batch name", max_length=Batch._meta.get_field("name").max_length)
    if assignee_id is not _UNSET:
        batch.assignee = _check_member(batch.project, assignee_id, ASSIGNEE_ROLES, "assignee")
    if reviewer_id is not _UNSET:
        batch.reviewer = _check_member(batch.project, reviewer_id, REVIEWER_ROLES, "reviewer")
    batch.save()
    broadcast.batch_changed(batch)
    return batch


@transaction.atomic
def batch_delete(*, batch: Batch) -> None:
    """Deleting a batch returns its images to the unbatched pool; annotations stay."""
    batch.delete()


@transaction.atomic
def batch_submit(*, batch: Batch, by: AbstractBaseUser | None = None) -> Batch:
    batch = Batch.objects.select_for_update().get(pk=batch.pk)
    if batch.status not in {BatchStatus.OPEN, BatchStatus.REJECTED}:
        raise Conflict(
            f"The batch is {batch.status}; only open or rejected batches can be submitted.", code="bad_state"
        )
    batch.status = BatchStatus.SUBMITTED
    batch.save(update_fields=["status"])
    # Images the reviewer already accepted stay accepted: a resubmission is reviewed where it was rejected.
    _set_status(
        batch.images.exclude(status=ImageStatus.ACCEPTED), ImageStatus.SUBMITTED, project_id=batch.project_id, by=by
    )
    broadcast.batch_changed(batch)
    return batch


REVIEW_DECISIONS = {"accept": ImageStatus.ACCEPTED, "reject": ImageStatus.REJECTED}
DECIDED = {ImageStatus.ACCEPTED, ImageStatus.REJECTED}


def _check_under_review(batch: Batch) -> None:
    if batch.status != BatchStatus.SUBMITTED:
        raise Conflict(
            f"The batch is {batch.status}: decisions are made while it is under review (submitted).",
            code="not_under_review",
        )


@transaction.atomic
def batch_review(*, batch: Batch, decision: str, by: AbstractBaseUser | None = None) -> Batch:
    """A decision on the whole batch under review.

    ``accept`` / ``reject`` decide the images still undecided (a decision already made stays); ``finish`` closes
    the review once every image is decided: the batch is accepted when every image is, otherwise rejected — back
    with its annotator, who changes the rejected images (the accepted ones stay accepted on resubmission).
    """
    batch = Batch.objects.select_for_update().get(pk=batch.pk)
    _check_under_review(batch)
    undecided = batch.images.exclude(status__in=DECIDED)
    if decision in REVIEW_DECISIONS:
        _set_status(undecided, REVIEW_DECISIONS[decision], project_id=batch.project_id, by=by)
        return batch
    if decision != "finish":
        raise InvalidInput(f"Unknown decision {decision!r}; use accept, reject or finish.", code="bad_decision")
    left = list(undecided.order_by("id").values_list("id", flat=True))
    if left:
        raise Conflict(
            f"{len(left)} image(s) of the batch are still undecided; accept or reject them before finishing.",
            code="undecided_images",
            details={"undecided": left},
        )
    everything_accepted = not batch.images.filter(status=ImageStatus.REJECTED).exists()
    batch.status = BatchStatus.ACCEPTED if everything_accepted else BatchStatus.REJECTED
    batch.save(update_fields=["status"])
    broadcast.batch_changed(batch)
    return batch


@transaction.atomic
def image_review(*, image: Image, accept: bool, by: AbstractBaseUser | None = None) -> Image:
    """Decide one image of a batch under review, or change the decision made on it; the batch stays under review
    until the reviewer finishes it (:func:`batch_review` with ``finish``)."""
    if image.batch_id is None:
        raise Conflict("The image is in no batch; only images of a batch under review are decided.", code="no_batch")
    batch = Batch.objects.select_for_update().get(pk=image.batch_id)  # batch, then image: the documented order
    image = Image.objects.select_for_update().get(pk=image.pk)
    if image.batch_id != batch.pk:
        raise Conflict("The image left its batch meanwhile; reload the page.", code="no_batch")
    _check_under_review(batch)
    status = ImageStatus.ACCEPTED if accept else ImageStatus.REJECTED
    changed, image.status = image.status != status, status
    image.save(update_fields=["status"])
    if changed:
        broadcast.image_changed(image, by)
    return image
