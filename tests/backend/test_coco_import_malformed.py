"""Malformed COCO documents: every one a 400 naming the field and the annotation, never a crash."""

import json
from dataclasses import asdict

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from pycocotools import mask as coco_mask

from backend.annotations.models import AnnotationObject
from backend.common.errors import InvalidInput
from backend.exports.coco_reading import _runs_of_string, coco_reader
from backend.exports.importing import import_annotations
from tests.backend.test_coco_import import SQUARE_SEGMENTATION, document, send
from tests.conftest import World


def annotation(segmentation=SQUARE_SEGMENTATION, **fields) -> dict:
    return {"id": 1, "image_id": 1, "category_id": 1, "segmentation": segmentation, **fields}


def rle(counts, size=(48, 64)) -> dict:
    return {"size": list(size) if isinstance(size, tuple) else size, "counts": counts}


def coco(images=None, categories=None, annotations=None) -> bytes:
    return json.dumps({
        "images": images if images is not None else [{"id": 1, "file_name": "a.png"}],
        "categories": categories if categories is not None else [{"id": 1, "name": "car"}],
        "annotations": annotations if annotations is not None else [annotation()],
    }).encode()  # fmt: skip


@pytest.mark.parametrize(
    ("data", "names"),
    [
        (document([annotation(rle([-1, 3073]))]), ["Annotation 1", "'counts'"]),
        (document([annotation(rle([2**40, 5]))]), ["Annotation 1", "'counts'"]),
        (document([annotation(rle([1000]))]), ["Annotation 1", "'counts'"]),  # short: pycocotools left memory as it was
        (document([annotation(rle("o"))]), ["Annotation 1", "'counts'"]),  # the last count cut short
        (document([annotation(rle([0, 3072], size=48))]), ["Annotation 1", "'size'"]),
        (document([annotation(rle([0, 3072], size=None))]), ["Annotation 1", "'size'"]),
        (coco(images=[{"id": [1], "file_name": "a.png"}]), ["Image 0", "'id'", "a list"]),
        (coco(categories=[{"id": {"x": 1}, "name": "car"}]), ["Category 0", "'id'", "an object"]),
        (coco(annotations=[annotation(category_id={"id": 1})]), ["Annotation 1", "'category_id'", "an object"]),
        (coco(annotations=[annotation(image_id=[1, 2])]), ["Annotation 1", "'image_id'", "a list"]),
        (coco(images=[{"id": 1, "file_name": "a\ud800.png"}]), ["Annotation 1", "'file_name'"]),
    ],
)
def test_malformed_fields_are_a_400_naming_field_and_annotation(world: World, data: bytes, names: list[str]) -> None:
    before = AnnotationObject.objects.count()
    response = send(world, world.project, data)
    assert response.status_code == 400 and response.json()["error"] == "bad_coco", response.content
    assert all(name in response.json()["detail"] for name in names), response.json()
    assert AnnotationObject.objects.count() == before


@pytest.mark.parametrize("data", [b"[" * 100_000 + b"]" * 100_000, b'{"images": ' + b"1" * 5000 + b"}"])
def test_json_python_cannot_read_is_a_400(world: World, data: bytes) -> None:
    """Nesting deeper than Python's recursion limit, and integers of more than 4300 digits."""
    response = send(world, world.project, data)
    assert response.status_code == 400 and response.json()["error"] == "bad_json", response.content


@pytest.mark.parametrize(
    ("name", "code", "words"),
    [("x" * 5000, "too_long", "at most 100"), ("bus\x00", "bad_text", "NUL"), ("bus\ud800", "bad_text", "Unicode")],
)
def test_a_category_name_no_label_may_have_is_a_400(world: World, name: str, code: str, words: str) -> None:
    data = coco(categories=[{"id": 1, "name": name}], annotations=[annotation(id=7)])
    response = send(world, world.project, data)
    assert response.status_code == 400 and response.json()["error"] == code, response.content
    detail = response.json()["detail"]
    assert "Annotation 7" in detail and "'name'" in detail and "label name" in detail and words in detail
    assert world.project.labels.count() == 2


@pytest.mark.parametrize("annotation_id", ["a\x00b", "a\ud800b", "é" * 40])
def test_any_annotation_id_still_imports_once(world: World, annotation_id: str) -> None:
    data = coco(annotations=[annotation(id=annotation_id)])
    first = send(world, world.project, data)
    assert first.status_code == 200 and first.json()["created"] == 1, first.content
    assert send(world, world.project, data).json()["already_imported"] == 1


def test_a_polygon_over_the_vertex_cap_is_refused_before_its_points_are_read(world: World, settings) -> None:
    settings.MAX_VERTICES_PER_OBJECT = 10
    ring = [10, 10, 30, 10, 30, 30, 20, 35, 10, 30, 5, 20]  # 6 vertices: two rings are 12
    response = send(world, world.project, coco(annotations=[annotation([ring, ring])]))
    assert response.status_code == 400 and response.json()["error"] == "too_many_vertices", response.content
    assert "Annotation 1" in response.json()["detail"] and "10" in response.json()["detail"]


def test_compressed_counts_are_read_like_pycocotools() -> None:
    rng = np.random.default_rng(3)
    for _ in range(300):
        height, width = (int(v) for v in rng.integers(1, 60, 2))
        mask = rng.random((height, width)) < rng.random()
        encoded = coco_mask.encode(np.asfortranarray(mask, dtype=np.uint8))
        runs = _runs_of_string(encoded["counts"].decode())
        decoded = coco_mask.decode(coco_mask.frPyObjects({"size": [height, width], "counts": runs}, height, width))
        assert runs.sum() == height * width and np.array_equal(decoded.astype(bool), mask)


# Documents from random JSON values, shaped like COCO often enough to reach every check.
text = st.text(st.characters(categories=["L", "N", "P", "Zs", "Cc", "Cs"]), max_size=6)
scalar = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), text)
anything = st.recursive(
    scalar, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3), max_leaves=6
)
runs = st.lists(st.integers(0, 800), max_size=5).map(lambda c: c + [3072 - sum(c)] if sum(c) <= 3072 else c)
compressed = st.text(st.characters(min_codepoint=40, max_codepoint=115), max_size=12)
counts = st.one_of(runs, compressed, st.lists(st.integers(-5, 4000), max_size=4), anything)
an_rle = st.fixed_dictionaries({"size": st.one_of(st.just([48, 64]), anything), "counts": counts})
coordinate = st.one_of(st.integers(-5, 70), st.floats(-5, 70), anything)
polygons = st.lists(st.lists(coordinate, max_size=10), max_size=3)
an_image = st.fixed_dictionaries({
    "id": st.one_of(st.integers(1, 3), anything),
    "file_name": st.one_of(st.sampled_from(["a.png", "photos/a.png", "b.png", "zz.png", "a_1.png"]), anything),
})  # fmt: skip
a_category = st.fixed_dictionaries({
    "id": st.one_of(st.integers(1, 3), anything),
    "name": st.one_of(st.sampled_from(["car", "tree", "bus", " "]), text, anything),
})  # fmt: skip
an_annotation = st.fixed_dictionaries(
    {
        "id": st.one_of(st.integers(0, 5), anything),
        "image_id": st.one_of(st.integers(1, 3), anything),
        "category_id": st.one_of(st.integers(1, 3), anything),
        "segmentation": st.one_of(polygons, an_rle, anything),
    },
    optional={"iscrowd": st.one_of(st.just(0), anything)},
)
pairs = st.lists(st.tuples(st.integers(0, 64), st.integers(0, 48)), min_size=3, max_size=6)
a_ring = pairs.map(lambda points: [v for point in points for v in point])
compressed_runs = runs.map(
    lambda c: coco_mask.frPyObjects({"size": [48, 64], "counts": c}, 48, 64)["counts"].decode() if sum(c) == 3072 else c
)
a_shape = st.one_of(
    st.lists(a_ring, min_size=1, max_size=2),
    st.fixed_dictionaries({"size": st.just([48, 64]), "counts": st.one_of(runs, compressed_runs)}),
)


@st.composite
def plausible_document(draw) -> dict:
    """A document for the world's images, with one field here and there replaced by any JSON value."""
    document = {
        "images": [{"id": 1, "file_name": "photos/a.png"}, {"id": 2, "file_name": "zz.png"}],
        "categories": [{"id": 1, "name": "car"}, {"id": 2, "name": draw(st.one_of(st.just("bus"), text))}],
        "annotations": [
            {
                "id": draw(st.one_of(st.integers(0, 9), text)),
                "image_id": draw(st.sampled_from([1, 1, 2])),
                "category_id": draw(st.sampled_from([1, 2])),
                "segmentation": draw(st.one_of(a_shape, a_shape, a_shape, polygons, an_rle)),
            }
            for _ in range(draw(st.integers(1, 3)))
        ],
    }
    for _ in range(draw(st.sampled_from([0, 0, 1, 2]))):
        part = draw(st.sampled_from(["images", "categories", "annotations"]))
        item = draw(st.sampled_from(document[part]))
        item[draw(st.sampled_from([*item, "iscrowd"]))] = draw(anything)
    return document


a_document = st.one_of(
    plausible_document(),
    plausible_document(),
    st.fixed_dictionaries(
        {
            "images": st.one_of(st.lists(an_image, max_size=3), anything),
            "categories": st.one_of(st.lists(a_category, max_size=3), anything),
            "annotations": st.one_of(st.lists(an_annotation, max_size=3), anything),
        }
    ),  # fmt: skip
    anything,
)


@settings(
    max_examples=150, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(doc=a_document, create_labels=st.sampled_from([True, True, False]))
def test_any_document_is_imported_or_refused_with_invalid_input(world: World, doc, create_labels: bool) -> None:
    data = json.dumps(doc).encode()
    try:
        report = import_annotations(
            project=world.project,
            author=world.users["manager"],
            annotations=coco_reader(data),
            create_labels=create_labels,
        )
    except InvalidInput as exc:
        event(f"refused: {exc.code}")
        json.dumps({"detail": exc.message, "details": exc.details}, ensure_ascii=False).encode("utf-8")  # renderable
        return
    event("created" if report.created else "already imported" if report.already_imported else "nothing to import")
    json.dumps(asdict(report), ensure_ascii=False).encode("utf-8")
