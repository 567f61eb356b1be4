"""The workspace page (role checked server-side, config for the bundle) and the project page's filters and links."""

import json
import re

from backend.images.models import Image
from tests.conftest import World


def config_of(content: bytes) -> dict:
    match = re.search(rb'<script id="workspace-config" type="application/json">(.*?)</script>', content, re.S)
    assert match, "the page carries no workspace config"
    return json.loads(match.group(1))


def test_annotator_gets_the_workspace_with_image_labels_and_neighbours(world: World, client) -> None:
    client.force_login(world.users["annotator"])
    response = client.get(f"/images/{world.batched_image.pk}/annotate/")
    assert response.status_code == 200
    config = config_of(response.content)
    assert config["image"] == {
        "id": world.batched_image.pk,
        "width": 64,
        "height": 48,
        "name": "a.png",
        "url": f"/api/images/{world.batched_image.pk}/file",
        "status": "in_progress",
        "source": None,  # a photo: shown as stored
        "tiles": None,  # shown from its file (a tiled image: from its pyramid)
    }
    assert [label["name"] for label in config["labels"]] == ["car", "tree"]
    assert config["prevUrl"] is None and config["nextUrl"] is None  # the annotator sees only their batch
    assert config["loginUrl"] == "/accounts/login/"
    assert config["batch"] == {"id": world.batch.pk, "name": world.batch.name, "status": "open"}
    assert config["user"] == {"id": world.users["annotator"].pk, "username": "annotator"}
    assert b'<div id="workspace"' in response.content


def test_an_unbatched_image_has_no_batch_in_the_workspace_config(world: World, client) -> None:
    client.force_login(world.users["manager"])
    config = config_of(client.get(f"/images/{world.free_image.pk}/annotate/").content)
    assert config["batch"] is None and config["user"]["username"] == "manager"


def test_managers_step_through_all_images(world: World, client) -> None:
    client.force_login(world.users["manager"])
    config = config_of(client.get(f"/images/{world.batched_image.pk}/annotate/").content)
    assert config["nextUrl"] == f"/images/{world.free_image.pk}/annotate/"


def test_the_workspace_mounts_the_built_bundle(world: World, client, settings) -> None:
    from backend.web.templatetags.vite import MANIFEST

    client.force_login(world.users["annotator"])
    content = client.get(f"/images/{world.batched_image.pk}/annotate/").content.decode()
    if MANIFEST.exists():
        entry = json.loads(MANIFEST.read_text())["src/main.ts"]
        assert f'<script type="module" src="/static/{entry["file"]}">' in content
    else:
        assert "make frontend" in content


def test_who_may_only_see_the_image_is_sent_to_its_read_only_view(world: World, client) -> None:
    url = f"/images/{world.batched_image.pk}/annotate/"
    read_only = f"/images/{world.batched_image.pk}/view/"
    assert client.get(url)["Location"].startswith("/accounts/login/")
    client.force_login(world.users["reviewer"])
    response = client.get(url)
    assert response.status_code == 302 and response["Location"] == read_only
    client.force_login(world.users["outsider"])
    assert client.get(url).status_code == 404
    client.force_login(world.users["annotator"])
    assert client.get(f"/images/{world.free_image.pk}/annotate/").status_code == 404
    assert client.post(f"/api/batches/{world.batch.pk}/submit").status_code == 200
    response = client.get(url, follow=True)
    assert response.redirect_chain == [(read_only, 302)]
    page = response.content.decode()
    assert "You cannot edit this image: The batch is submitted" in page
    assert review_config_of(response.content)["mode"] == "read-only"


def test_project_page_filters_and_links_to_the_workspace(world: World, client) -> None:
    client.force_login(world.users["manager"])
    page = client.get(f"/projects/{world.project.pk}/").content.decode()
    assert f'href="/images/{world.batched_image.pk}/annotate/"' in page
    assert f'href="/images/{world.free_image.pk}/annotate/"' in page
    Image.objects.filter(pk=world.free_image.pk).update(status="accepted")
    accepted = client.get(f"/projects/{world.project.pk}/?status=accepted").content.decode()
    assert "b.png" in accepted and "a.png" not in accepted
    batch = client.get(f"/projects/{world.project.pk}/?batch={world.batch.pk}").content.decode()
    assert "a.png" in batch and "b.png" not in batch
    assert "b.png" in client.get(f"/projects/{world.project.pk}/?search=b.p").content.decode()
    client.force_login(world.users["reviewer"])
    reviewer_page = client.get(f"/projects/{world.project.pk}/").content.decode()
    assert "a.png" in reviewer_page and "/annotate/" not in reviewer_page


def test_project_page_explains_a_malformed_filter_and_shows_everything(world: World, client) -> None:
    client.force_login(world.users["manager"])
    response = client.get(f"/projects/{world.project.pk}/?batch=abc")
    page = response.content.decode()
    assert response.status_code == 200
    assert "is a batch id" in page and "a.png" in page and "b.png" in page


def review_config_of(content: bytes) -> dict:
    match = re.search(rb'<script id="review-config" type="application/json">(.*?)</script>', content, re.S)
    assert match, "the page carries no review config"
    return json.loads(match.group(1))


def test_reviewer_gets_the_review_page_of_their_batch(world: World, client) -> None:
    url = f"/images/{world.batched_image.pk}/review/"
    client.force_login(world.users["reviewer"])
    config = review_config_of(client.get(url).content)
    assert config["image"]["status"] == "in_progress" and config["image"]["name"] == "a.png"
    assert config["batch"] == {"id": world.batch.pk, "name": world.batch.name, "status": "open"}
    assert config["prevUrl"] is None and config["nextUrl"] is None
    project_page = client.get(f"/projects/{world.project.pk}/").content.decode()
    assert f'href="{url}"' in project_page and "review-batch" not in project_page  # the batch is not submitted
    from backend.images.services import batch_submit

    batch_submit(batch=world.batch)
    project_page = client.get(f"/projects/{world.project.pk}/").content.decode()
    assert f'class="review-batch" href="{url}"' in project_page
    client.force_login(world.users["manager"])
    assert client.get(url).status_code == 200
    assert client.get(f"/images/{world.free_image.pk}/review/").status_code == 403  # not in a batch
    client.force_login(world.users["annotator"])
    assert client.get(url).status_code == 403
    assert f'href="{url}"' not in client.get(f"/projects/{world.project.pk}/").content.decode()
    client.force_login(world.users["outsider"])
    assert client.get(url).status_code == 404


def test_an_entry_gets_the_css_of_the_chunks_it_imports(settings, tmp_path, monkeypatch) -> None:
    from backend.web.templatetags import vite

    manifest = {
        "_shared.js": {"file": "assets/shared.js", "css": ["assets/shared.css"]},
        "src/review-main.ts": {"file": "assets/review.js", "isEntry": True, "imports": ["_shared.js"], "css": ["assets/own.css"]},
    }  # fmt: skip
    monkeypatch.setattr(vite, "manifest", lambda: manifest)
    html = vite.vite_entry("src/review-main.ts")
    assert html.index("/static/assets/shared.css") < html.index("/static/assets/own.css") < html.index("review.js")


def test_managers_see_progress_per_person_and_label(world: World, client) -> None:
    from backend.annotations.services import object_create
    from tests.conftest import SQUARE

    object_create(
        image=world.batched_image, author=world.users["annotator"], label_id=world.spare_label.pk, polygons=SQUARE,
        source="interactive", clicks_used=3, seconds_spent=12.5,
    )  # fmt: skip
    object_create(
        image=world.batched_image, author=world.users["annotator"], label_id=world.label.pk, polygons=SQUARE,
        source="interactive", clicks_used=2, seconds_spent=4,
    )  # fmt: skip
    Image.objects.filter(pk=world.batched_image.pk).update(status="accepted")
    stats = world.client("manager").get(f"/api/projects/{world.project.pk}/statistics/").json()
    assert stats["images"] == {"new": 1, "in_progress": 0, "submitted": 0, "accepted": 1, "rejected": 0}
    assert stats["objects"] == 3 and stats["objects_by_source"] == {"manual": 1, "interactive": 2}
    assert [(r["label"], r["count"]) for r in stats["objects_by_label"]] == [("car", 2), ("tree", 1)]
    (person,) = stats["people"]
    assert {key: person[key] for key in ("username", "images", "accepted", "rejected", "objects")} == {
        "username": "annotator", "images": 1, "accepted": 1, "rejected": 0, "objects": 3,
    }  # fmt: skip
    assert (person["interactive_objects"], person["mean_clicks"], person["seconds"]) == (2, 2.5, 16.5)
    client.force_login(world.users["manager"])
    page = client.get(f"/projects/{world.project.pk}/").content.decode()
    assert 'id="statistics"' in page and 'data-person="annotator"' in page
    row = re.search(r'<tr data-person="annotator">.*?</tr>', page, re.S).group(0)
    assert "<td data-created>3</td>" in row and "<td data-edited>0</td>" in row
    assert "Objects made" in page and "Edits of others' objects" in page
    client.force_login(world.users["annotator"])
    assert 'id="statistics"' not in client.get(f"/projects/{world.project.pk}/").content.decode()


def test_a_dicom_stack_gets_its_display_presets_and_slices_in_the_workspace_config(world: World, client) -> None:
    from tests.backend.test_medical_sources import ct_dicom, ct_values
    from tests.conftest import upload_to_batch

    image = upload_to_batch(world, "cine.dcm", ct_dicom(ct_values(), frames=3))
    client.force_login(world.users["annotator"])
    config = config_of(client.get(f"/images/{image.pk}/annotate/").content)
    source = config["image"]["source"]
    assert config["image"]["url"].startswith(f"/api/images/{image.pk}/file?v=")  # names the mapping: never stale
    assert (source["kind"], source["slices"], source["bands"]) == ("dicom", 3, 1)
    assert source["display"] == {"mode": "window", "center": 40.0, "width": 400.0, "bands": [0], "invert": False}
    assert {"Lung", "Bone"} <= {preset["name"] for preset in source["presets"]}
    assert source["displayUrl"] == f"/api/images/{image.pk}/display"
    assert "PatientName" not in json.dumps(config) and "Doe" not in json.dumps(config)
