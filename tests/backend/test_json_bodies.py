"""JSON request bodies: over-deep nesting is a 400 and an oversized body a 413 on every endpoint, never a 500."""

import io
import json

import pytest
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from backend.common.errors import InvalidInput, TooLarge
from backend.common.parsers import MAX_JSON_DEPTH, BoundedJSONParser, json_depth
from backend.projects.models import Membership
from tests.conftest import World

DEEP = "[" * 100_000 + "]" * 100_000  # RecursionError in Python's JSON decoder: a 500 before

# (method, path, who): every API view that reads a JSON body
ENDPOINTS = [
    ("post", "/api/auth/token/", "anonymous"),
    ("patch", "/api/me/preferences/", "annotator"),
    ("post", "/api/projects/", "admin"),
    ("patch", "/api/projects/{project}/", "admin"),
    ("post", "/api/projects/{project}/members/", "admin"),
    ("patch", "/api/projects/{project}/members/{member}/", "admin"),
    ("post", "/api/projects/{project}/labels/", "admin"),
    ("patch", "/api/projects/{project}/labels/{label}/", "admin"),
    ("post", "/api/images/{image}/objects/", "annotator"),
    ("patch", "/api/objects/{object}/", "annotator"),
    ("post", "/api/objects/{object}/restore/", "annotator"),
    ("post", "/api/images/{image}/comments/", "reviewer"),
    ("post", "/api/images/{image}/review", "reviewer"),
    ("post", "/api/projects/{project}/batches/", "manager"),
    ("patch", "/api/batches/{batch}/", "manager"),
    ("post", "/api/batches/{batch}/review", "reviewer"),
    ("patch", "/api/projects/{project}/model/", "admin"),
]


def url(world: World, path: str) -> str:
    member = Membership.objects.get(project=world.project, user=world.users["reviewer"])
    ids = {"project": world.project.pk, "member": member.pk, "label": world.label.pk, "image": world.batched_image.pk,
           "object": world.obj.pk, "batch": world.batch.pk}  # fmt: skip
    return path.format(**ids)


def send(world: World, method: str, path: str, who: str, body: str):
    client = world.client(who)
    return getattr(client, method)(url(world, path), body, content_type="application/json")


@pytest.mark.parametrize(("method", "path", "who"), ENDPOINTS)
def test_over_deep_json_is_a_400_everywhere(world: World, method: str, path: str, who: str) -> None:
    response = send(world, method, path, who, DEEP)
    assert response.status_code == 400, response.content
    assert response.json()["error"] == "json_too_deep" and str(MAX_JSON_DEPTH) in response.json()["detail"]


@pytest.mark.parametrize(("method", "path", "who"), ENDPOINTS)
def test_a_body_above_the_upload_limit_is_a_413_everywhere(
    world: World, settings, method: str, path: str, who: str
) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = send(world, method, path, who, json.dumps({"name": "x" * 2000}))
    assert response.status_code == 413, response.content
    assert response.json()["error"] == "body_too_large" and "1,000" in response.json()["detail"]


def test_the_patch_of_the_issue_gets_a_400_and_changes_nothing(world: World) -> None:
    body = '{"version": 1, "polygons": ' + DEEP + "}"
    response = send(world, "patch", "/api/objects/{object}/", "annotator", body)
    assert response.status_code == 400 and response.json()["error"] == "json_too_deep"
    world.obj.refresh_from_db()
    assert world.obj.version == 1


def test_nesting_up_to_the_limit_is_parsed_and_brackets_in_strings_do_not_count(world: World) -> None:
    deepest = '{"version": 1, "polygons": ' + "[" * (MAX_JSON_DEPTH - 1) + "]" * (MAX_JSON_DEPTH - 1) + "}"
    response = send(world, "patch", "/api/objects/{object}/", "annotator", deepest)
    assert response.status_code == 400 and response.json()["error"] == "bad_polygon"  # parsed, then checked
    text = json.dumps({"text": '[{"\\"' * 1000})
    assert send(world, "post", "/api/images/{image}/comments/", "reviewer", text).status_code == 201


@pytest.mark.parametrize(
    ("body", "code"),
    [("{not json", "bad_json"), ('{"x": NaN}', "bad_json"), ("[" * 65 + "]" * 65, "json_too_deep")],
)
def test_malformed_bodies_are_a_400_in_the_api_error_format(world: World, body: str, code: str) -> None:
    response = send(world, "post", "/api/images/{image}/comments/", "reviewer", body)
    assert response.status_code == 400 and response.json()["error"] == code, response.content


def parse(body: bytes, **headers) -> object:
    request = APIRequestFactory().generic("POST", "/", body, content_type="application/json", **headers)
    return Request(request, parsers=[BoundedJSONParser()]).data


def test_the_parser_reads_a_raw_stream_no_further_than_the_limit(settings) -> None:
    """DRF before 3.18 handed parsers the request's raw stream; a lying Content-Length must not matter."""
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100
    request = APIRequestFactory().post("/", b"", content_type="application/json", CONTENT_LENGTH="10")
    with pytest.raises(TooLarge):
        BoundedJSONParser().parse(io.BytesIO(json.dumps(["x" * 300]).encode()), parser_context={"request": request})
    assert parse(b'{"a": [1, 2]}') == {"a": [1, 2]}
    with pytest.raises(InvalidInput):
        parse(b"\xff\xfe")


@pytest.mark.parametrize(
    ("text", "depth"),
    [("", 0), ("1", 0), ("[]", 1), ('{"a": [[1], {"b": []}]}', 4), ('["[[[", "\\"]]]"]', 1), ("[[[", 3)],
)
def test_json_depth(text: str, depth: int) -> None:
    assert json_depth(text) == depth


@pytest.mark.parametrize("body", ["[1]", '"x"', "null"])
def test_a_token_request_that_is_no_json_object_is_a_400(world: World, body: str) -> None:
    response = send(world, "post", "/api/auth/token/", "anonymous", body)
    assert response.status_code == 400, response.content
