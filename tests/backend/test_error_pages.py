"""Styled 403/404/500 pages with the reason and a way back, JSON errors kept under /api/, and the read-only view
an image's workspace sends to those who may see it but not edit it."""

import json
import re

from django.test import RequestFactory

from backend.images.models import BatchStatus
from backend.images.services import batch_submit
from backend.web import errors
from tests.conftest import World, set_batch_state


def review_config_of(content: bytes) -> dict:
    match = re.search(rb'<script id="review-config" type="application/json">(.*?)</script>', content, re.S)
    assert match, "the page carries no review config"
    return json.loads(match.group(1))


def test_a_refused_page_is_styled_says_why_and_links_back_to_the_project(world: World, client) -> None:
    client.force_login(world.users["annotator"])
    response = client.get(f"/images/{world.batched_image.pk}/review/")
    page = response.content.decode()
    assert response.status_code == 403
    assert '<div class="card error-page" data-status="403">' in page and "<header>" in page  # web/base.html
    assert "Only the batch&#x27;s reviewer or a manager may review this image." in page
    assert f'<a class="back" href="/projects/{world.project.pk}/">← Back to World</a>' in page


def test_a_missing_page_says_so_and_links_home(world: World, client) -> None:
    client.force_login(world.users["outsider"])
    response = client.get(f"/projects/{world.project.pk}/")  # not a member: as if it did not exist
    page = response.content.decode()
    assert response.status_code == 404 and 'data-status="404"' in page
    assert "No such project." in page and '<a class="back" href="/">← Back to your projects</a>' in page
    assert "World" not in page.split("<main>")[1]  # nothing of the project it may not see
    unknown = client.get("/no/such/page/")
    assert unknown.status_code == 404 and b"There is no such page" in unknown.content
    assert b"tried" not in unknown.content  # not the resolver's internals


def test_the_api_keeps_answering_json(world: World, client) -> None:
    client.force_login(world.users["annotator"])
    unknown = client.get("/api/no-such-endpoint/")
    assert unknown.status_code == 404 and unknown["Content-Type"] == "application/json"
    assert unknown.json()["error"] == "not_found"
    refused = client.post(f"/api/projects/{world.project.pk}/labels/", {"name": "x"}, content_type="application/json")
    assert refused.status_code == 403 and "manage labels" in refused.json()["detail"]
    missing = client.get("/api/images/987654/")
    assert missing.status_code == 404 and missing["Content-Type"] == "application/json"


def test_a_server_error_is_styled_without_internals(world: World) -> None:
    from backend.config import urls

    assert urls.handler500 == "backend.web.errors.server_error"
    request = RequestFactory().get("/projects/1/")
    request.user = world.users["manager"]
    response = errors.server_error(request)
    assert response.status_code == 500 and b'data-status="500"' in response.content
    assert b"Something went wrong on the server" in response.content and b'href="/"' in response.content
    api = RequestFactory().get("/api/projects/")
    api.user = world.users["manager"]
    assert json.loads(errors.server_error(api).content)["error"] == "server_error"


def test_the_read_only_view_shows_an_image_to_whoever_may_see_it(world: World, client) -> None:
    url = f"/images/{world.batched_image.pk}/view/"
    for who in ("annotator", "reviewer", "manager"):
        client.force_login(world.users[who])
        response = client.get(url)
        assert response.status_code == 200, who
        config = review_config_of(response.content)
        assert config["mode"] == "read-only"
        assert config["batch"] == {"id": world.batch.pk, "name": world.batch.name, "status": "open"}
        assert config["image"]["id"] == world.batched_image.pk and config["image"]["status"] == "in_progress"
        assert config["projectUrl"] == f"/projects/{world.project.pk}/"
        assert {label["name"] for label in config["labels"]} == {"car", "tree"}
    assert review_config_of(client.get(f"/images/{world.free_image.pk}/view/").content)["batch"] is None
    client.force_login(world.users["outsider"])
    assert client.get(url).status_code == 404
    client.force_login(world.users["annotator"])
    assert client.get(f"/images/{world.free_image.pk}/view/").status_code == 404  # not in their batch


def test_the_review_page_says_its_mode(world: World, client) -> None:
    batch_submit(batch=world.batch)
    client.force_login(world.users["reviewer"])
    assert review_config_of(client.get(f"/images/{world.batched_image.pk}/review/").content)["mode"] == "review"


def test_an_accepted_image_in_a_rejected_batch_is_read_only_with_the_reason(world: World, client) -> None:
    set_batch_state(world.batched_image, "rejected, image accepted")
    client.force_login(world.users["annotator"])
    response = client.get(f"/images/{world.batched_image.pk}/annotate/", follow=True)
    assert response.redirect_chain == [(f"/images/{world.batched_image.pk}/view/", 302)]
    assert "The reviewer accepted this image; only a manager may change it now." in response.content.decode()
    assert review_config_of(response.content)["batch"]["status"] == BatchStatus.REJECTED
    again = client.get(f"/images/{world.batched_image.pk}/view/")  # the message was shown once
    assert b"You cannot edit this image" not in again.content


def test_a_form_without_its_security_token_gets_the_styled_page_saying_to_reload(world: World) -> None:
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    response = client.post("/accounts/login/", {"username": "annotator", "password": "pw-annotator"})
    assert response.status_code == 403
    page = response.content.decode()
    assert "security token is missing or expired" in page and "reload the page" in page
    assert 'error-page" data-status="403"' in page
