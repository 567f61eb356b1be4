"""The project page's controls: "Submit batch" with its empty-image warning, batches by selection, the Manage
forms in setup order, and distinct label colours by default."""

import re

from django.core.management import call_command

from backend.images.services import batch_submit
from backend.projects.models import LabelClass, Project
from backend.projects.services import LABEL_PALETTE, label_create, next_label_colour, project_create
from tests.conftest import World, png_bytes, set_batch_state, upload_to_batch


def project_page(client, world: World, who: str, query: str = "") -> str:
    client.force_login(world.users[who])
    response = client.get(f"/projects/{world.project.pk}/{query}")
    assert response.status_code == 200
    return response.content.decode()


def submit_form(page: str, batch_id: int) -> str | None:
    match = re.search(rf'<form class="submit-batch" data-api="/api/batches/{batch_id}/submit".*?</form>', page, re.S)
    return match.group(0) if match else None


def test_the_annotator_may_submit_an_open_batch_and_is_told_of_images_without_objects(world: World, client) -> None:
    form = submit_form(project_page(client, world, "annotator"), world.batch.pk)
    assert form is not None and "Submit batch" in form
    assert "Every image has at least one object." in form  # the world's one image has an object
    upload_to_batch(world, "c.png", png_bytes(seed=5))
    upload_to_batch(world, "d.png", png_bytes(seed=6))
    form = submit_form(project_page(client, world, "annotator"), world.batch.pk)
    assert '<strong class="warning" data-empty="2">2 of 3 images have no object.</strong>' in form
    assert '<span class="confirm" data-confirm hidden>' in form  # the confirmation waits for the first click
    upload_to_batch(world, "e.png", png_bytes(seed=7))
    from backend.annotations.models import AnnotationObject

    AnnotationObject.objects.all().delete()
    assert "4 of 4 images have no object." in submit_form(project_page(client, world, "annotator"), world.batch.pk)


def test_who_sees_the_submit_control_and_when(world: World, client) -> None:
    assert submit_form(project_page(client, world, "manager"), world.batch.pk) is not None
    assert submit_form(project_page(client, world, "reviewer"), world.batch.pk) is None
    batch_submit(batch=world.batch)
    page = project_page(client, world, "annotator", f"?submitted={world.batch.pk}")
    assert submit_form(page, world.batch.pk) is None
    assert "is submitted for review (1 image)" in page
    set_batch_state(world.batched_image, "rejected")
    page = project_page(client, world, "annotator", f"?submitted={world.batch.pk}")
    assert submit_form(page, world.batch.pk) is not None and "is submitted for review" not in page


def test_managers_pick_unbatched_images_for_a_batch(world: World, client) -> None:
    page = project_page(client, world, "manager")
    assert '<form class="card filters" id="select-batch" data-api=' in page
    boxes = re.findall(r'<input type="checkbox" name="image_ids" value="(\d+)" form="select-batch"', page)
    assert boxes == [str(world.free_image.pk)]  # the batched image cannot be picked again
    assert "Select all shown" in page and "Create a batch from the selected" in page
    unbatched = project_page(client, world, "manager", "?batch=none")
    assert "b.png" in unbatched and "a.png" not in unbatched
    annotator_page = project_page(client, world, "annotator")
    assert 'id="select-batch"' not in annotator_page and 'name="image_ids"' not in annotator_page


def test_the_manage_forms_follow_the_setup_order(world: World, client) -> None:
    page = project_page(client, world, "manager")
    places = [page.index(f'id="{form}"') for form in ("new-label", "new-member", "upload", "split", "reassign")]
    assert places == sorted(places)


def test_new_labels_take_distinct_palette_colours(world: World) -> None:
    project = project_create(name="Colours", created_by=world.users["manager"])
    colours = [label_create(project=project, name=f"l{i}").color for i in range(len(LABEL_PALETTE))]
    assert colours == LABEL_PALETTE and len(set(colours)) == len(LABEL_PALETTE) >= 10
    assert label_create(project=project, name="thirteenth").color == LABEL_PALETTE[0]  # round again


def test_the_next_colour_is_one_no_label_uses_yet(world: World) -> None:
    project = project_create(name="Chosen", created_by=world.users["manager"])
    label_create(project=project, name="picked", color=LABEL_PALETTE[0].upper())
    label_create(project=project, name="also", color=LABEL_PALETTE[2])
    assert next_label_colour(project=project) == LABEL_PALETTE[1]
    assert label_create(project=project, name="new").color == LABEL_PALETTE[1]
    assert label_create(project=project, name="newer").color == LABEL_PALETTE[3]


def test_the_label_api_and_form_default_to_the_next_colour(world: World, client) -> None:
    api = world.client("manager")
    created = api.post(f"/api/projects/{world.project.pk}/labels/", {"name": "bike"}, format="json")
    assert created.status_code == 201 and created.json()["color"] == LABEL_PALETTE[0]  # world: #ff0000, #00ff00
    blank = api.post(f"/api/projects/{world.project.pk}/labels/", {"name": "bus", "color": ""}, format="json")
    assert blank.status_code == 201 and blank.json()["color"] == LABEL_PALETTE[1]
    page = project_page(client, world, "manager")
    assert f'<input name="color" type="color" value="{LABEL_PALETTE[2]}">' in page


def test_the_demo_labels_have_distinct_colours(db) -> None:
    call_command("load_demo")
    colours = list(LabelClass.objects.filter(project=Project.objects.get(name="Demo project")).values_list("color"))
    assert len(colours) >= 3 and len(set(colours)) == len(colours)


def test_the_review_link_stays_until_the_review_is_finished(world: World, client) -> None:
    from backend.images.services import image_review

    batch_submit(batch=world.batch)
    link = f'href="/images/{world.batched_image.pk}/review/"'
    assert link in project_page(client, world, "reviewer")
    image_review(image=world.batched_image, accept=True)
    assert link in project_page(client, world, "reviewer")  # every image decided: back to revise, or to finish
