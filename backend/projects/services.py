"""Write paths for projects, memberships and label classes."""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction

from backend.common.errors import Conflict, InvalidInput
from backend.common.text import checked_text
from backend.projects.models import LabelClass, Membership, Project, Role, hex_colour

# New labels take the next of these (after Sasha Trubetskoy's "20 simple, distinct colours"): twelve that stay
# apart from each other on photographs and carry white text.
LABEL_PALETTE = [
    "#e6194b",  # red
    "#3cb44b",  # green
    "#4363d8",  # blue
    "#f58231",  # orange
    "#911eb4",  # purple
    "#42d4f4",  # cyan
    "#f032e6",  # magenta
    "#bfef45",  # lime
    "#469990",  # teal
    "#9a6324",  # brown
    "#ffe119",  # yellow
    "#000075",  # navy
]


def _check_project_name(name: str) -> str:
    name = checked_text(name, field="project name", max_length=Project._meta.get_field("name").max_length, strip=True)
    if not name:
        raise InvalidInput("A project needs a name.", code="name_required")
    return name


@transaction.atomic
def project_create(*, name: str, description: str = "", created_by: AbstractBaseUser) -> Project:
    name = _check_project_name(name)
    description = checked_text(description, field="project description")
    project = Project.objects.create(name=name, description=description, created_by=created_by)
    Membership.objects.create(project=project, user=created_by, role=Role.ADMIN)
    return project


@transaction.atomic
def project_update(*, project: Project, name: str | None = None, description: str | None = None) -> Project:
    if name is not None:
        project.name = _check_project_name(name)
    if description is not None:
        project.description = checked_text(description, field="project description")
    project.save()
    return project


@transaction.atomic
def project_delete(*, project: Project) -> None:
    """Delete the project with everything in it, stored image files included (after commit)."""
    from backend.annotations.models import AnnotationObject
    from backend.images.models import Image
    from backend.images.tiles import delete_pyramid_unless_used

    files = [f for image in Image.objects.filter(project=project) for f in (image.file, image.thumbnail)]
    contents = set(Image.objects.filter(project=project).values_list("sha256", flat=True))
    AnnotationObject.objects.filter(image__project=project).delete()  # labels protect their objects
    project.delete()
    transaction.on_commit(lambda: [f.delete(save=False) for f in files])
    transaction.on_commit(lambda: [delete_pyramid_unless_used(sha) for sha in contents])  # gigapixel images' tiles


def _user_by_username(username: str) -> AbstractBaseUser:
    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        raise InvalidInput(f"No user named {username!r}.", code="unknown_user")
    return user


def _check_role(role: str) -> Role:
    if role not in Role.values:
        raise InvalidInput(f"Unknown role {role!r}; use one of {', '.join(Role.values)}.", code="unknown_role")
    return Role(role)


@transaction.atomic
def member_add(*, project: Project, username: str, role: str) -> Membership:
    user = _user_by_username(username)
    if Membership.objects.filter(project=project, user=user).exists():
        raise Conflict(f"{username} is already a member of this project.", code="already_member")
    return Membership.objects.create(project=project, user=user, role=_check_role(role))


def _ensure_an_admin_remains(membership: Membership) -> None:
    others = Membership.objects.filter(project=membership.project, role=Role.ADMIN).exclude(pk=membership.pk)
    if membership.role == Role.ADMIN and not others.exists():
        raise Conflict("A project must keep at least one admin.", code="last_admin")


@transaction.atomic
def member_set_role(*, membership: Membership, role: str) -> Membership:
    membership = Membership.objects.select_for_update().get(pk=membership.pk)
    new_role = _check_role(role)
    if new_role != Role.ADMIN:
        _ensure_an_admin_remains(membership)
    membership.role = new_role
    membership.save(update_fields=["role"])
    return membership


@transaction.atomic
def member_remove(*, membership: Membership) -> None:
    membership = Membership.objects.select_for_update().get(pk=membership.pk)
    _ensure_an_admin_remains(membership)
    membership.delete()


def _check_colour(color: str) -> str:
    try:
        hex_colour(color)
    except Exception as exc:
        raise InvalidInput(f"Colour {color!r} must look like #RRGGBB.", code="bad_colour") from exc
    return color.lower()


def _check_label_name_free(project: Project, name: str, exclude_id: int | None = None) -> str:
    name = checked_text(name, field="label name", max_length=LabelClass._meta.get_field("name").max_length, strip=True)
    if not name:
        raise InvalidInput("A label needs a name.", code="name_required")
    clash = LabelClass.objects.filter(project=project, name=name).exclude(pk=exclude_id)
    if clash.exists():
        raise Conflict(f"This project already has a label named {name!r}.", code="duplicate_label")
    return name


def next_label_colour(*, project: Project) -> str:
    """The colour a new label of ``project`` gets unless told one: the first palette colour no label uses yet, or
    (every one taken) the palette round again by the number of labels."""
    used = [colour.lower() for colour in project.labels.values_list("color", flat=True)]
    free = [colour for colour in LABEL_PALETTE if colour not in used]
    return free[0] if free else LABEL_PALETTE[len(used) % len(LABEL_PALETTE)]


@transaction.atomic
def label_create(*, project: Project, name: str, color: str | None = None, order: int | None = None) -> LabelClass:
    name = _check_label_name_free(project, name)
    count = project.labels.count()
    color = _check_colour(color) if color else next_label_colour(project=project)
    try:
        with transaction.atomic():
            return LabelClass.objects.create(
                project=project, name=name, color=color, order=count if order is None else order
            )
    except IntegrityError as exc:  # a concurrent create with the same name
        raise Conflict(f"This project already has a label named {name!r}.", code="duplicate_label") from exc


@transaction.atomic
def label_update(
    *, label: LabelClass, name: str | None = None, color: str | None = None, order: int | None = None
) -> LabelClass:
    if name is not None:
        label.name = _check_label_name_free(label.project, name, exclude_id=label.pk)
    if color is not None:
        label.color = _check_colour(color)
    if order is not None:
        label.order = order
    label.save()
    return label


@transaction.atomic
def label_delete(*, label: LabelClass, reassign_to: LabelClass | None = None) -> int:
    """Delete a label; objects using it must be moved to `reassign_to`, else 409. Returns objects moved.

    The label is locked before its objects are counted: an object taking it meanwhile (its writer keeps the label,
    see `annotations.locking`) is either counted here or refused there, never left on a deleted label.
    """
    from backend.annotations.locking import lock_label
    from backend.annotations.services import objects_relabel

    if reassign_to is not None and reassign_to.project_id != label.project_id:
        raise InvalidInput("reassign_to must be a label of the same project.", code="unknown_label")
    if reassign_to is not None and reassign_to.pk == label.pk:
        raise InvalidInput("reassign_to must be another label.", code="unknown_label")
    if reassign_to is not None:
        moved = objects_relabel(source=label, target=reassign_to)
    else:
        if lock_label(label.pk) is None:
            raise Conflict(f"Label {label.name!r} was deleted meanwhile.", code="label_gone")
        in_use = label.annotation_objects.count()
        if in_use:
            raise Conflict(
                f"Label {label.name!r} is used by {in_use} object(s); pass reassign_to=<label id> to move them first.",
                code="label_in_use",
                details={"objects": in_use},
            )
        moved = 0
    label.delete()
    return moved
