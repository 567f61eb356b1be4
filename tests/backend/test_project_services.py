"""Label deletion called directly: refused while objects use the label, or their objects moved first."""

import pytest

from backend.annotations.models import AnnotationObject
from backend.common.errors import Conflict, InvalidInput
from backend.projects.models import LabelClass
from backend.projects.services import label_create, label_delete, project_create
from tests.conftest import World


def test_a_label_in_use_is_not_deleted(world: World) -> None:
    with pytest.raises(Conflict) as refused:
        label_delete(label=world.label)
    assert refused.value.code == "label_in_use" and refused.value.details == {"objects": 1}
    assert LabelClass.objects.filter(pk=world.label.pk).exists()
    assert AnnotationObject.objects.get(pk=world.obj.pk).version == 1


def test_an_unused_label_is_deleted(world: World) -> None:
    assert label_delete(label=world.spare_label) == 0
    assert not LabelClass.objects.filter(pk=world.spare_label.pk).exists()


def test_a_label_in_use_is_deleted_after_moving_its_objects(world: World) -> None:
    assert label_delete(label=world.label, reassign_to=world.spare_label) == 1
    assert not LabelClass.objects.filter(pk=world.label.pk).exists()
    obj = AnnotationObject.objects.get(pk=world.obj.pk)
    assert (obj.label_id, obj.version) == (world.spare_label.pk, 2)


def test_the_reassignment_is_another_label_of_the_project(world: World) -> None:
    foreign = label_create(project=project_create(name="Other", created_by=world.users["outsider"]), name="car")
    for target in (foreign, world.label):
        with pytest.raises(InvalidInput) as refused:
            label_delete(label=world.label, reassign_to=target)
        assert refused.value.code == "unknown_label"
    assert AnnotationObject.objects.get(pk=world.obj.pk).label_id == world.label.pk


def test_deleting_a_label_deleted_meanwhile_is_a_conflict(world: World) -> None:
    stale = LabelClass.objects.get(pk=world.spare_label.pk)
    label_delete(label=world.spare_label)
    with pytest.raises(Conflict) as gone:
        label_delete(label=stale)
    assert gone.value.code == "label_gone"
    with pytest.raises(Conflict) as target_gone:
        label_delete(label=world.label, reassign_to=stale)
    assert target_gone.value.code == "label_gone"
    assert AnnotationObject.objects.get(pk=world.obj.pk).label_id == world.label.pk
