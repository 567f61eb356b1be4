"""Each object keeps its COCO geometry (``AnnotationObject.coco``) in step with its mask, so exports copy it as
text; an object without it (written around the services) still exports exactly."""

import json
import os
import subprocess
import sys

from backend.annotations.models import AnnotationObject
from backend.annotations.services import object_delete, object_restore, object_update
from backend.exports.coco_geometry import exported_segmentation
from tests.backend.test_coco_exact import add_polygons, assert_exported_exactly, exported_coco, rect
from tests.conftest import World


def stored_geometry(obj: AnnotationObject) -> dict:
    obj.refresh_from_db()
    segmentation, area, bbox = exported_segmentation(obj.mask_rle)
    assert json.loads(obj.coco) == {"segmentation": segmentation, "area": area, "bbox": bbox}
    return json.loads(obj.coco)


def test_create_update_and_restore_keep_the_coco_geometry_of_the_mask(world: World) -> None:
    editor = world.users["annotator"]
    obj = add_polygons(world, rect(4, 4, 6, 6))
    assert stored_geometry(obj)["area"] == 9.0
    obj = object_update(obj=obj, author=editor, version=obj.version, polygons=rect(10, 10, 19, 19))
    assert stored_geometry(obj)["bbox"] == [10.0, 10.0, 10.0, 10.0]
    object_delete(obj=obj, author=editor, version=obj.version)
    restored = object_restore(object_id=obj.pk, author=editor, version=obj.version)
    assert stored_geometry(restored)["area"] == 100.0


def test_an_object_without_stored_geometry_exports_exactly(world: World, tmp_path) -> None:
    objects = [add_polygons(world, rect(2, 3, 9, 11)), add_polygons(world, rect(30, 20, 31, 22))]
    AnnotationObject.objects.filter(pk=objects[0].pk).update(coco="")  # e.g. a bulk insert around the services
    assert_exported_exactly(exported_coco(world, tmp_path), objects)


def test_processes_that_never_run_the_model_do_not_import_pytorch() -> None:
    """The web process (ASGI app, consumer included), the Celery app and export jobs import no PyTorch: it is
    loaded with the first model, where inference runs."""
    code = (
        "import sys, django; django.setup(); import backend.config.asgi, backend.config.celery, "
        "backend.exports.jobs, backend.interactive.jobs; print('torch' in sys.modules)"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "backend.config.test_settings"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "False", out.stderr[-2000:]
