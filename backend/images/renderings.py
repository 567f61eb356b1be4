"""The 8-bit rendering of an image slice: what the browser shows and the model segments.

A photo is its own rendering. A source's slice is rendered through the image's display mapping into a PNG kept
next to the project's images as ``renders/{sha256}-{display digest}-{slice}.png``, written atomically, so every
web and worker process shares it; a new mapping makes new files (and :func:`discard_renderings` drops old ones).
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from backend.common.errors import InvalidInput
from backend.images.display import display_digest, render
from backend.images.models import Image
from backend.images.sources import Source, open_source


@dataclass(frozen=True)
class Rendering:
    path: Path
    key: str  # names the pixels: the inference caches key their working copies by it
    content_type: str


def check_slice(image: Image, index: int) -> int:
    if not 0 <= index < image.slice_count:
        raise InvalidInput(
            f"Slice {index} does not exist: the image has {image.slice_count} slice(s), from 0.", code="bad_slice"
        )
    return index


def renders_folder(image: Image) -> Path:
    return Path(image.file.storage.path(f"projects/{image.project_id}/renders"))


def rendering_of(image: Image, index: int = 0) -> Rendering:
    """The rendering of slice ``index`` of ``image`` under its current display mapping, made if missing."""
    check_slice(image, index)
    if not image.is_source:
        from backend.images.content_types import content_type_of

        return Rendering(
            Path(image.file.path), image.sha256, content_type_of(image.format) or "application/octet-stream"
        )
    key = f"{image.sha256}-{display_digest(image.display)}-{index}"
    path = renders_folder(image) / f"{key}.png"
    if not path.exists():
        _write_rendering(image, index, path)
    return Rendering(path, key, "image/png")


def _write_rendering(image: Image, index: int, path: Path) -> None:
    source = open_source(Path(image.file.path), image.original_name)
    if source is None:
        raise InvalidInput(f"{image.original_name}: the stored file is no longer readable.", code="corrupt_image")
    rgb = render_slice(source, index, image.display)
    ok, encoded = cv2.imencode(".png", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_PNG_COMPRESSION, 1])
    if not ok:
        raise InvalidInput(f"{image.original_name}: the slice could not be rendered.", code="corrupt_image")
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".rendering-", suffix=".png")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(encoded.tobytes())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def render_slice(source: Source, index: int, display: dict) -> np.ndarray:
    """Slice ``index`` of ``source`` under ``display``, reading only the bands it shows."""
    samples = source.read_slice(index, bands=display["bands"])
    return render(samples, {**display, "bands": list(range(len(display["bands"])))})


def discard_renderings(image: Image, *, keep_digest: str | None = None) -> None:
    """Delete the renderings of ``image`` (all of them, or all but those of the mapping ``keep_digest``)."""
    folder = renders_folder(image)
    if not folder.is_dir():
        return
    for path in folder.glob(f"{image.sha256}-*.png"):
        if keep_digest is None or not path.name.startswith(f"{image.sha256}-{keep_digest}-"):
            path.unlink(missing_ok=True)
