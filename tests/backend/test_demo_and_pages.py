"""The demo command and the server-rendered pages (login, project list, project overview)."""

import pytest
from django.core.management import call_command

from backend.images.models import Image
from backend.projects.models import Membership, Project
from tests.conftest import World


@pytest.mark.django_db
def test_demo_has_users_of_each_role_real_photos_and_a_batch(capsys) -> None:
    call_command("load_demo")
    project = Project.objects.get(name="Demo project")
    roles = set(Membership.objects.filter(project=project).values_list("role", flat=True))
    assert roles == {"admin", "manager", "annotator", "reviewer"}
    photos = Image.objects.filter(project=project)
    assert photos.count() == 8
    astronaut = photos.get(original_name="astronaut.jpg")
    assert (astronaut.width, astronaut.height) == (512, 512)
    assert photos.filter(batch__assignee__username="demo-annotator").exists()
    assert "demo-annotator / demo-annotator" in capsys.readouterr().out


def test_login_page_and_pages_behind_it(world: World, client) -> None:
    assert client.get("/").status_code == 302
    login = client.get("/accounts/login/")
    assert login.status_code == 200 and b'name="password"' in login.content
    response = client.post("/accounts/login/", {"username": "annotator", "password": "pw-annotator"}, follow=True)
    assert b"World" in response.content
    page = client.get(f"/projects/{world.project.pk}/")
    assert page.status_code == 200 and b"a.png" in page.content and b"b.png" not in page.content
    client.force_login(world.users["outsider"])
    assert client.get(f"/projects/{world.project.pk}/").status_code == 404


def test_wrong_password_shows_an_error(client, db) -> None:
    response = client.post("/accounts/login/", {"username": "x", "password": "y"})
    assert response.status_code == 200 and b"Wrong username or password" in response.content
