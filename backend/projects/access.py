"""Who may see and do what in a project. Views call these before any service.

A project you are not a member of is invisible (404); a visible resource you may not change is 403.
"""

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet
from django.http import Http404
from rest_framework.exceptions import PermissionDenied

from backend.projects.models import Membership, Project, Role

MANAGING_ROLES = frozenset({Role.ADMIN, Role.MANAGER})


def role_in(user: AbstractBaseUser, project: Project) -> Role | None:
    """The caller's role in the project; superusers are admins everywhere."""
    if not user.is_authenticated:
        return None
    if user.is_superuser:
        return Role.ADMIN
    membership = Membership.objects.filter(project=project, user=user).only("role").first()
    return Role(membership.role) if membership else None


def visible_projects(user: AbstractBaseUser) -> QuerySet[Project]:
    if user.is_superuser:
        return Project.objects.all()
    return Project.objects.filter(memberships__user=user).distinct()


def get_project_for(user: AbstractBaseUser, project_id: int) -> tuple[Project, Role]:
    """The project and the caller's role, or 404 when the caller is not a member."""
    project = Project.objects.filter(pk=project_id).first()
    role = role_in(user, project) if project else None
    if project is None or role is None:
        raise Http404("No such project.")
    return project, role


def require_role(role: Role, allowed: frozenset[Role] | set[Role], action: str) -> None:
    if role not in allowed:
        raise PermissionDenied(f"Your role ({role.value}) may not {action}.")


def require_manager(role: Role, action: str) -> None:
    require_role(role, MANAGING_ROLES, action)
