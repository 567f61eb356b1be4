"""Read an unpacked export with Datumaro and write down what it read, for tests/readers to compare (not a test).

Runs under ``.venv-readers/bin/python`` (Datumaro's pins clash with the app's venv), never imported by the app:

    datumaro_dump.py DATASET_DIR FORMAT OUT.npz [OPTION=VALUE ...]

``Dataset.import_from(DATASET_DIR, FORMAT, **options)`` with Datumaro's failing error policy (any item or
annotation it cannot read raises, exit status 1), every item and annotation read eagerly. Warnings logged or
raised while reading are recorded, so the test can refuse them — except deprecation warnings, which are about the
readers' own code (pycocotools' ``__array__`` under NumPy 2, ignored in the app's pytest settings too), not the
data. ``OUT.npz`` holds ``manifest`` (JSON text: label names, mask colours, per item its id, declared size,
decoded pixel size and annotations), the decoded pixels of each image, and one boolean array per mask or polygon
rasterised as Datumaro does (``Mask.image``; polygons through ``mask_tools.rles_to_mask``, i.e. pycocotools).
"""

import json
import logging
import sys
import warnings
from typing import Any

import numpy as np
from datumaro.components.annotation import AnnotationType, Bbox, Mask, Polygon
from datumaro.components.dataset import Dataset
from datumaro.components.dataset_base import DatasetItem
from datumaro.util.mask_tools import rles_to_mask


class Recorder(logging.Handler):
    """Every warning or error Datumaro logs while reading (it logs, rather than raises, some problems)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(f"{record.levelname} {record.name}: {record.getMessage()}")


def _option(text: str) -> tuple[str, Any]:
    key, _, value = text.partition("=")
    return key, json.loads(value) if value[:1] in '[{0123456789-tfn"' else value


def _annotation(ann: Any, labels: list[str], size: tuple[int, int], masks: dict[str, np.ndarray]) -> dict:
    entry: dict[str, Any] = {
        "type": ann.type.name,
        "id": ann.id,
        "group": ann.group,
        "label": None if ann.label is None else labels[ann.label],
        "attributes": {k: v for k, v in ann.attributes.items() if isinstance(v, bool | int | float | str)},
    }
    key = f"m{len(masks)}"
    if isinstance(ann, Mask):
        masks[key] = np.asarray(ann.image).astype(bool)
        entry["mask"] = key
    elif isinstance(ann, Polygon):
        height, width = size
        masks[key] = rles_to_mask([ann.points], width, height).astype(bool)
        entry["mask"], entry["points"] = key, [float(v) for v in ann.points]
    elif isinstance(ann, Bbox):
        entry["bbox"] = [float(v) for v in ann.get_bbox()]
    return entry


def _item(item: DatasetItem, labels: list[str], masks: dict[str, np.ndarray]) -> dict:
    declared = item.media.size if item.media is not None else None  # the annotation file's size, or the header's
    pixels = item.media.data if item.media is not None and item.media.has_data else None
    pixels_key = None
    if pixels is not None:
        pixels_key = f"px{len(masks)}"
        masks[pixels_key] = pixels.astype(np.uint8)  # as Datumaro decodes them (OpenCV: BGR)
    size = tuple(pixels.shape[:2]) if pixels is not None else declared
    return {
        "id": item.id,
        "subset": item.subset,
        "declared_size": list(declared) if declared else None,
        "pixel_size": list(pixels.shape[:2]) if pixels is not None else None,
        "pixels": pixels_key,
        "annotations": [_annotation(ann, labels, size, masks) for ann in item.annotations],
    }


def dump(path: str, fmt: str, out: str, options: dict[str, Any]) -> None:
    recorder = Recorder()
    logging.getLogger().addHandler(recorder)
    logging.getLogger().setLevel(logging.WARNING)
    masks: dict[str, np.ndarray] = {}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        dataset = Dataset.import_from(path, fmt, **options)
        categories = dataset.categories()
        labels = [label.name for label in categories[AnnotationType.label].items]
        colormap = categories[AnnotationType.mask].colormap if AnnotationType.mask in categories else {}
        items = [_item(item, labels, masks) for item in dataset]
    manifest = {
        "labels": labels,
        "colours": {str(index): [int(c) for c in colour] for index, colour in colormap.items()},
        "items": items,
        "warnings": recorder.messages
        + [
            f"{w.category.__name__}: {w.message} ({w.filename})"
            for w in caught
            if not issubclass(w.category, DeprecationWarning | PendingDeprecationWarning)
        ],
    }
    np.savez_compressed(out, manifest=np.array(json.dumps(manifest)), **masks)


if __name__ == "__main__":
    dataset_dir, format_name, out_path, *rest = sys.argv[1:]
    dump(dataset_dir, format_name, out_path, dict(_option(text) for text in rest))
