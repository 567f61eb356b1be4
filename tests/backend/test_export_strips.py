"""Huge images' label maps are painted and compressed strip by strip: the masks and VOC files are byte for byte
those of the whole-map path (forced here on small images, with strips of a few rows, objects overlapping)."""

import pytest

from backend.exports import strips
from backend.exports.formats import FORMATS
from tests.backend.test_export_formats import contents_of, scene  # noqa: F401 - the fixture
from tests.conftest import World


@pytest.mark.parametrize("fmt", ["masks", "voc"])
def test_strips_write_the_same_files_as_whole_maps(world: World, scene, monkeypatch, fmt: str) -> None:  # noqa: F811
    whole = dict(FORMATS[fmt].files(contents_of(world)))
    monkeypatch.setattr(strips, "LARGE_MAP_PIXELS", 0)  # every image is "huge"
    monkeypatch.setattr(strips, "STRIP_ROWS", 7)  # strips that cut objects
    striped = dict(FORMATS[fmt].files(contents_of(world)))
    assert striped.keys() == whole.keys()
    for path, data in whole.items():
        assert striped[path] == data, path
    assert any(path.endswith(".png") for path in whole)
