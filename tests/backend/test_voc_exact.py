"""Pascal VOC label maps read back as a VOC reader reads them: 20 labels, repeated colours, odd names.

The reader below does what Datumaro's VOC importer does (datumaro/plugins/data_formats/voc/format.py,
``parse_label_map`` and ``make_voc_categories``): ``labelmap.txt`` lines split on ``:`` into exactly four fields,
names unique, ``#`` lines skipped; class PNGs read as RGB and mapped back to classes by colour.
"""

import io
from xml.etree import ElementTree

import numpy as np
import pytest
from PIL import Image as PILImage

from backend.annotations.services import object_create
from backend.exports.voc_labels import BACKGROUND, voc_classes
from backend.projects.models import LabelClass
from backend.projects.services import label_create
from tests.conftest import World
from tests.exporting import exported_archive

# (name in the project, name in the export)
ODD_NAMES = [
    ("car:parked", "car_parked"),
    ("background", "background_1"),
    ("#hashtag", "_#hashtag"),
    ("a,b c", "a,b c"),
    ("ünï cødé", "ünï cødé"),
    ("x:y:z", "x_y_z"),
]


def read_labelmap(text: str) -> list[tuple[str, tuple[int, int, int]]]:
    """(name, colour) per class index, as Datumaro's parse_label_map reads them (and refuses what it refuses)."""
    classes: list[tuple[str, tuple[int, int, int]]] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        fields = line.split(":")
        assert len(fields) == 4, f"a reader refuses {line!r}: {len(fields)} fields"
        name, colour = fields[0], tuple(int(c) for c in fields[1].split(","))
        assert len(colour) == 3 and name not in {n for n, _ in classes}, line
        classes.append((name, colour))
    return classes


@pytest.fixture
def twenty(world: World) -> list[LabelClass]:
    """The world's two labels plus 18: odd names, the palette's twelve colours going round, black, a repeat."""
    labels = [world.label, world.spare_label]
    labels += [label_create(project=world.project, name=name) for name, _ in ODD_NAMES]
    labels.append(label_create(project=world.project, name="car_parked"))  # what car:parked would become
    labels.append(label_create(project=world.project, name="night", color="#000000"))
    labels.append(label_create(project=world.project, name="red again", color="#FF0000"))
    labels += [label_create(project=world.project, name=f"plain {i}") for i in range(20 - len(labels))]
    assert len(labels) == 20
    return labels


def test_twenty_labels_with_odd_names_read_back_by_name_and_colour(world: World, twenty: list[LabelClass]) -> None:
    # One 6×6 square per label on the 64×48 image (8×8 cells), each label's object its own class.
    for index, label in enumerate(twenty):
        x, y = 8 * (index % 8), 8 * (index // 8)
        square = [{"outer": [[x, y], [x + 5, y], [x + 5, y + 5], [x, y + 5]], "holes": []}]
        object_create(image=world.free_image, author=world.users["manager"], label_id=label.pk, polygons=square)
    archive = exported_archive(world, format="voc")

    classes = read_labelmap(archive.read("labelmap.txt").decode())
    assert classes[0] == (BACKGROUND, (0, 0, 0))
    exported = dict(ODD_NAMES) | {"car_parked": "car_parked_1"}
    assert [name for name, _ in classes[1:]] == [exported.get(label.name, label.name) for label in twenty]
    colours = [colour for _, colour in classes]
    assert len(set(colours)) == 21  # background and 20 labels, each its own colour
    assert classes[1][1] == (255, 0, 0) and classes[2][1] == (0, 255, 0)  # labels keep their own colour if free

    png = PILImage.open(io.BytesIO(archive.read("SegmentationClass/b.png")))
    palette = png.getpalette()
    assert [tuple(palette[3 * i : 3 * i + 3]) for i in range(21)] == colours  # labelmap.txt and PNG agree
    by_colour = {colour: name for name, colour in classes}
    rgb = np.asarray(png.convert("RGB"))  # what a reader mapping colours back sees
    for index, (name, _) in enumerate(classes[1:]):
        x, y = 8 * (index % 8), 8 * (index // 8)
        assert by_colour[tuple(rgb[y + 2, x + 2])] == name
        assert (np.asarray(png)[y : y + 6, x : x + 6] == index + 1).all()  # the palette index is the class index
    assert by_colour[tuple(rgb[47, 63])] == BACKGROUND

    names_in_map = {name for name, _ in classes}
    xml = ElementTree.fromstring(archive.read("Annotations/b.xml"))
    assert [o.findtext("name") for o in xml.iter("object")] == [name for name, _ in classes[1:]]
    assert {o.findtext("name") for o in xml.iter("object")} <= names_in_map


def test_colours_stay_unique_past_the_palette_and_names_past_the_rules() -> None:
    labels = [LabelClass(pk=i, name=f"l{i}", color="#e6194b") for i in range(1, 200)]
    labels += [
        LabelClass(pk=500, name="line\nbreak\r:", color="#000000"),
        LabelClass(pk=501, name="  ", color="#000000"),
    ]
    classes = voc_classes(labels)
    assert len({voc.colour for voc in classes}) == len(classes) == 202
    assert classes[1].colour == (0xE6, 0x19, 0x4B)  # the first keeps its colour, the repeats get free ones
    assert [voc.name for voc in classes[-2:]] == ["line_break__", "label"]
    for voc in classes:
        assert len(f"{voc.name}:0,0,0::".split(":")) == 4 and "\n" not in voc.name and "\r" not in voc.name


def test_an_image_with_more_objects_than_the_instance_map_holds_still_exports(world: World) -> None:
    # 300 objects of 2×2 pixels on a 3-pixel grid: the 8-bit instance map numbers the first 255, the class map all.
    cells = [(3 * (i % 21), 3 * (i // 21)) for i in range(300)]
    for x, y in cells:
        square = [{"outer": [[x, y], [x + 1, y], [x + 1, y + 1], [x, y + 1]], "holes": []}]
        object_create(image=world.free_image, author=world.users["manager"], label_id=world.label.pk, polygons=square)
    archive = exported_archive(world, format="voc")
    instances = np.asarray(PILImage.open(io.BytesIO(archive.read("SegmentationObject/b.png"))))
    classes = np.asarray(PILImage.open(io.BytesIO(archive.read("SegmentationClass/b.png"))))
    for number, (x, y) in enumerate(cells, start=1):
        assert (instances[y : y + 2, x : x + 2] == (number if number <= 255 else 0)).all(), number
        assert (classes[y : y + 2, x : x + 2] == 1).all(), number
    xml = ElementTree.fromstring(archive.read("Annotations/b.xml"))
    assert len(list(xml.iter("object"))) == 300
