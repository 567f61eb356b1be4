"""Projects, members and labels through the API."""

import yaml

from backend.annotations.models import AnnotationObject
from tests.conftest import World


def test_creator_becomes_admin_and_outsiders_do_not_see_it(world: World) -> None:
    created = world.client("outsider").post("/api/projects/", {"name": "Mine"}, format="json").json()
    assert created["role"] == "admin"
    assert [p["name"] for p in world.client("outsider").get("/api/projects/").json()] == ["Mine"]
    assert world.client("manager").get(f"/api/projects/{created['id']}/").status_code == 404


def test_members_add_change_and_keep_an_admin(world: World) -> None:
    url = f"/api/projects/{world.project.pk}/members/"
    admin = world.client("admin")
    assert admin.post(url, {"username": "nobody", "role": "annotator"}, format="json").json()["error"] == "unknown_user"
    assert admin.post(url, {"username": "outsider", "role": "boss"}, format="json").json()["error"] == "unknown_role"
    assert admin.post(url, {"username": "manager", "role": "annotator"}, format="json").status_code == 409
    own = world.project.memberships.get(role="admin")
    response = admin.patch(f"{url}{own.pk}/", {"role": "annotator"}, format="json")
    assert response.status_code == 409 and response.json()["error"] == "last_admin"
    assert admin.delete(f"{url}{own.pk}/").status_code == 409


def test_manager_cannot_create_or_demote_admins(world: World) -> None:
    url = f"/api/projects/{world.project.pk}/members/"
    manager = world.client("manager")
    assert manager.post(url, {"username": "outsider", "role": "admin"}, format="json").status_code == 403
    admin_membership = world.project.memberships.get(role="admin")
    assert manager.patch(f"{url}{admin_membership.pk}/", {"role": "reviewer"}, format="json").status_code == 403


def test_label_names_are_unique_per_project(world: World) -> None:
    url = f"/api/projects/{world.project.pk}/labels/"
    response = world.client("manager").post(url, {"name": "car"}, format="json")
    assert response.status_code == 409 and response.json()["error"] == "duplicate_label"
    rename = world.client("manager").patch(f"{url}{world.spare_label.pk}/", {"name": "car"}, format="json")
    assert rename.status_code == 409
    assert world.client("manager").post(url, {"name": "bus", "color": "red"}, format="json").status_code == 400
    auto = world.client("manager").post(url, {"name": "bus"}, format="json").json()
    assert auto["color"].startswith("#") and auto["order"] == 2


def test_deleting_a_label_in_use_needs_a_reassignment(world: World) -> None:
    url = f"/api/projects/{world.project.pk}/labels/{world.label.pk}/"
    refused = world.client("manager").delete(url)
    assert refused.status_code == 409 and refused.json()["details"] == {"objects": 1}
    assert world.client("manager").delete(f"{url}?reassign_to=abc").status_code == 400
    moved = world.client("manager").delete(f"{url}?reassign_to={world.spare_label.pk}")
    assert moved.status_code == 200 and moved.json() == {"moved_objects": 1}
    obj = AnnotationObject.objects.get(pk=world.obj.pk)
    assert obj.label_id == world.spare_label.pk and obj.version == 2


def test_token_auth_for_scripts(world: World, client) -> None:
    response = client.post("/api/auth/token/", {"username": "annotator", "password": "pw-annotator"})
    assert response.status_code == 200
    token = response.json()["token"]
    listing = client.get("/api/projects/", HTTP_AUTHORIZATION=f"Token {token}")
    assert listing.status_code == 200 and listing.json()[0]["role"] == "annotator"
    assert client.get("/api/projects/", HTTP_AUTHORIZATION="Token wrong").status_code == 401


def test_session_api_writes_need_csrf(world: World) -> None:
    from django.test import Client

    browser = Client(enforce_csrf_checks=True)
    browser.force_login(world.users["manager"])
    response = browser.post(f"/api/projects/{world.project.pk}/labels/", {"name": "x"}, content_type="application/json")
    assert response.status_code == 403 and "CSRF" in response.json()["detail"]


def test_openapi_schema_and_docs_are_served(client, db) -> None:
    schema = client.get("/api/schema/")
    assert schema.status_code == 200 and b"/api/objects/{object_id}/" in schema.content
    assert client.get("/api/docs/").status_code == 200


def test_the_openapi_schema_describes_every_endpoint_without_warnings(tmp_path) -> None:
    from django.core.management import call_command

    call_command("spectacular", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"))
    schema = (tmp_path / "schema.yaml").read_text()
    assert "/api/projects/{project_id}/exports/:" in schema and "/api/projects/{project_id}/import:" in schema
    components = yaml.safe_load(schema)["components"]["schemas"]
    # Export and fine-tuning jobs: one status enum, under its own name.
    for job in ("ExportOutput", "JobOutput"):
        assert components[job]["properties"]["status"] == {"$ref": "#/components/schemas/JobStatusEnum"}


def test_preferences_merge_and_stay_per_person(world: World) -> None:
    annotator = world.client("annotator")
    assert annotator.get("/api/me/").json()["preferences"] == {}
    annotator.patch("/api/me/preferences/", {"shortcuts": {"finish": "Enter"}, "opacity": 0.4}, format="json")
    merged = annotator.patch("/api/me/preferences/", {"opacity": None}, format="json").json()
    assert merged == {"shortcuts": {"finish": "Enter"}}
    assert world.client("reviewer").get("/api/me/").json()["preferences"] == {}
    assert annotator.patch("/api/me/preferences/", [1, 2], format="json").status_code == 400


def test_preferences_refuse_nul_characters_and_form_encoding(world: World) -> None:
    annotator = world.client("annotator")
    url = "/api/me/preferences/"
    nul = annotator.patch(url, {"shortcuts": {"finish": "a\x00b"}}, format="json")
    assert nul.status_code == 400 and nul.json()["error"] == "bad_preferences"
    assert annotator.patch(url, {"bad\x00key": 1}, format="json").status_code == 400
    form = annotator.patch(url, "opacity=0.5", content_type="application/x-www-form-urlencoded")
    assert form.status_code == 415
    assert annotator.get("/api/me/").json()["preferences"] == {}
