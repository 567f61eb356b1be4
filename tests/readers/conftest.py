"""Exports read back by third-party readers: a project built through the services with what readers trip on, its
export unpacked on disk, and Datumaro run on it in its own venv (``.venv-readers``, ``make readers-venv``).

The scene reuses the builders of the exact-export tests (tests/backend/test_voc_exact.py, test_coco_exact.py,
test_export_formats.py, test_export_exif.py), so the readers see the same cases those tests pin.
"""

import json
import subprocess
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from backend.annotations.models import AnnotationObject
from backend.annotations.services import object_create, object_create_from_mask
from backend.exports.archive import write_archive
from backend.exports.contents import ExportContents, export_contents
from backend.exports.formats import FORMATS
from backend.images.models import Image
from backend.images.services import images_upload
from backend.projects.models import LabelClass
from ml.postprocess import rle_to_mask
from tests.backend.test_coco_exact import pixels, rect
from tests.backend.test_export_exif import sideways_photo
from tests.backend.test_export_formats import H, W, holed, speck, two_parts
from tests.backend.test_voc_exact import ODD_NAMES, twenty  # noqa: F401  (twenty: the 20-label fixture)
from tests.conftest import REPO_DIR, World, upload

READERS_PYTHON = REPO_DIR / ".venv-readers" / "bin" / "python"
DUMP_SCRIPT = Path(__file__).with_name("datumaro_dump.py")


@dataclass(frozen=True)
class Scene:
    world: World
    labels: list[LabelClass]  # the project's 20 labels, in its order
    side: Image  # the EXIF-rotated JPEG (stored 600 wide × 400 high, shown 400 × 600)

    def contents(self) -> ExportContents:
        return export_contents(project=self.world.project, images=Image.objects.filter(project=self.world.project))


@dataclass(frozen=True)
class Read:
    """What Datumaro read: label names, mask colours, items (see datumaro_dump.py) and the rasterised masks."""

    labels: list[str]
    colours: dict[int, tuple[int, int, int]]
    items: dict[str, dict]  # by item id
    warnings: list[str]
    masks: dict[str, np.ndarray]

    def mask(self, annotation: dict) -> np.ndarray:
        return self.masks[annotation["mask"]]


def stored(obj: AnnotationObject) -> np.ndarray:
    return rle_to_mask(obj.mask_rle).astype(bool)


def ring(height: int, width: int, cx: int, cy: int, outer: int, inner: int) -> np.ndarray:
    ys, xs = np.mgrid[0:height, 0:width]
    distance = (xs - cx) ** 2 + (ys - cy) ** 2
    return (distance <= outer**2) & (distance > inner**2)


@pytest.fixture
def scene(world: World, twenty: list[LabelClass]) -> Scene:  # noqa: F811  (the imported fixture, requested)
    """On ``a.png`` (64×48), in creation order: the world's square (car); a frame with a hole, an island in it and a
    hole in the island; a one-pixel speck; a two-part object touching three borders; a block over the square;
    three pixels touching diagonally in the corner; a one-pixel-wide line on the left edge; a triangle with float
    vertices — labels ``ünï cødé``, ``car:parked``, ``background``, ``#hashtag``, ``x:y:z``, ``a,b c`` and ``night``
    (black). ``b.png`` has no objects. ``side.jpg`` is EXIF-rotated, with a block and a ring (a hole) on it."""
    by_name = {label.name: label for label in twenty}
    annotator = world.users["annotator"]

    def mask(image: Image, name: str, pixels_: np.ndarray) -> AnnotationObject:
        return object_create_from_mask(image=image, author=annotator, label_id=by_name[name].pk, mask=pixels_)

    def polygons(image: Image, name: str, shape: list[dict]) -> AnnotationObject:
        return object_create(image=image, author=annotator, label_id=by_name[name].pk, polygons=shape)

    a = world.batched_image
    overlap = np.zeros((H, W), bool)
    overlap[25:35, 5:15] = True
    mask(a, "ünï cødé", holed())
    mask(a, "car:parked", speck(2, 3))
    mask(a, "background", two_parts())
    mask(a, "#hashtag", overlap)
    mask(a, "x:y:z", pixels((60, 47), (61, 46), (62, 45)))
    mask(a, "a,b c", pixels((0, 0), (0, 1), (0, 2)))
    polygons(a, "night", [{"outer": [[3.4, 20.6], [12.7, 21.2], [8.2, 30.49]], "holes": []}])

    (side,) = images_upload(
        project=world.project, files=[upload("side.jpg", sideways_photo())], uploaded_by=world.users["manager"]
    ).created
    polygons(side, "plain 0", rect(300, 100, 339, 179))
    mask(side, "tree", ring(side.height, side.width, 200, 400, 60, 25))
    assert {name for name, _ in ODD_NAMES} <= set(by_name)
    return Scene(world, twenty, side)


def unpacked_export(scene: Scene, fmt: str, tmp_path: Path) -> Path:
    """The archive ``backend.exports.archive`` writes for ``fmt`` (images included), unpacked under tmp_path."""
    archive = tmp_path / f"{fmt}.zip"
    write_archive(scene.contents(), FORMATS[fmt], include_images=True, destination=archive)
    folder = tmp_path / fmt
    with zipfile.ZipFile(archive) as unpacked:
        unpacked.extractall(folder)
    return folder


def datumaro_read(folder: Path, fmt: str, **options: object) -> Read:
    """``Dataset.import_from(folder, fmt, **options)`` in the readers' venv; fails on any import error."""
    assert READERS_PYTHON.exists(), "no readers venv: run `make readers-venv` (make test does)"
    out = folder.with_suffix(".datumaro.npz")
    arguments = [
        f"{key}={json.dumps(value) if not isinstance(value, str) else value}" for key, value in options.items()
    ]
    command = [str(READERS_PYTHON), str(DUMP_SCRIPT), str(folder), fmt, str(out), *arguments]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, f"Datumaro could not import the {fmt} export:\n{done.stderr[-4000:]}"
    with np.load(out) as saved:
        manifest = json.loads(str(saved["manifest"]))
        masks = {key: saved[key] for key in saved.files if key != "manifest"}
    return Read(
        labels=manifest["labels"],
        colours={int(index): tuple(colour) for index, colour in manifest["colours"].items()},
        items={item["id"]: item for item in manifest["items"]},
        warnings=manifest["warnings"],
        masks=masks,
    )
