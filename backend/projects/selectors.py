from django.db.models import QuerySet

from backend.projects.models import LabelClass, Membership, Project


def project_members(*, project: Project) -> QuerySet[Membership]:
    return project.memberships.select_related("user").order_by("id")


def project_labels(*, project: Project) -> QuerySet[LabelClass]:
    return project.labels.order_by("order", "id")


def get_label(*, project: Project, label_id: int) -> LabelClass | None:
    return LabelClass.objects.filter(project=project, pk=label_id).first()
