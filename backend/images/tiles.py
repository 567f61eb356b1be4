"""Tile pyramids of large images: stored once per content under ``MEDIA_ROOT/tiles/{sha256}/``, served per tile.

A pyramid is written by :mod:`backend.images.large` when an image above ``TILED_MIN_PIXELS`` is uploaded; its
layout is :mod:`ml.inference.pyramid`'s (Deep Zoom, JPEG tiles). Two projects holding the same file share it; it is
deleted with the last image of its content, and ``manage.py sweep_media`` removes one that no image references.
"""

import logging
import os
import re
import shutil
import time
import uuid
from pathlib import Path

from django.conf import settings

from backend.images.models import Image
from ml.inference.pyramid import TILE_SUFFIX, Pyramid, is_pyramid

logger = logging.getLogger(__name__)
TILES_FOLDER = "tiles"
TILE_SIZE = 256
TILE_CONTENT_TYPE = "image/jpeg"  # every tile is a JPEG, whatever the image's format (TILE_SUFFIX)
SHA256 = re.compile(r"[0-9a-f]{64}")


def tiles_folder() -> Path:
    return Path(settings.MEDIA_ROOT) / TILES_FOLDER


def pyramid_root(sha256: str) -> Path:
    if not SHA256.fullmatch(sha256):
        raise ValueError(f"not a sha256: {sha256[:80]!r}")
    return tiles_folder() / sha256


def pyramid_of(image: Image) -> Pyramid | None:
    """The image's tile pyramid, or ``None`` for an image shown and segmented from its file."""
    try:
        root = pyramid_root(image.sha256)
        return Pyramid.open(root) if is_pyramid(root) else None
    except (OSError, ValueError):
        return None


def tiles_info(image: Image) -> dict | None:
    """What a client needs to show the image tile by tile (the API's and the pages' ``tiles``), or ``None``."""
    pyramid = pyramid_of(image)
    if pyramid is None:
        return None
    return {
        "tile_size": pyramid.tile_size,
        "levels": pyramid.levels,
        "url": f"/api/images/{image.pk}/tiles/{{level}}/{{col}}_{{row}}.{TILE_SUFFIX}",
    }


def inference_path(image: Image) -> str:
    """What a click session reads: the pyramid's folder for a tiled image (never the original), else the file."""
    root = pyramid_root(image.sha256) if SHA256.fullmatch(image.sha256) else None
    return str(root) if root is not None and is_pyramid(root) else image.file.path


def tile_path(image: Image, level: int, col: int, row: int) -> tuple[Path, Pyramid] | None:
    """The file of one tile of the image, or ``None`` when there is no such tile."""
    pyramid = pyramid_of(image)
    if pyramid is None or not 0 <= level <= pyramid.max_level:
        return None
    width, height = pyramid.level_size(level)
    if not (0 <= col * pyramid.tile_size < width and 0 <= row * pyramid.tile_size < height):
        return None
    path = pyramid.tile_path(level, col, row)
    return (path, pyramid) if path.is_file() else None


def keep_pyramid(*, built: Path, sha256: str) -> bool:
    """Move a pyramid built while checking an upload into its place (renamed whole: complete or absent); if the
    same content already has one, the new one is left where it is (the upload's temporary folder goes).
    True when this call placed it."""
    target = pyramid_root(sha256)
    if is_pyramid(target):
        return False
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists():  # an incomplete leftover of a killed process
        shutil.rmtree(target, ignore_errors=True)
    partial = target.parent / f".partial-{sha256}-{uuid.uuid4().hex[:8]}"
    try:
        shutil.move(str(built), str(partial))  # a rename when on the same file system
        os.replace(partial, target)
    except OSError:
        shutil.rmtree(partial, ignore_errors=True)
        if not is_pyramid(target):  # not another upload of the same content that won the race
            raise
        return False
    return True


def pyramid_name(sha256: str) -> str:
    """How an upload lists a pyramid it placed among the files it wrote (``discard_unreferenced`` knows it)."""
    return f"{TILES_FOLDER}/{sha256}/"


def sha_of_pyramid_name(name: str) -> str | None:
    prefix, _, rest = name.partition("/")
    sha = rest.rstrip("/")
    return sha if prefix == TILES_FOLDER and name.endswith("/") and SHA256.fullmatch(sha) else None


def delete_pyramid_unless_used(sha256: str) -> None:
    """Delete the pyramid of ``sha256`` unless an image (of any project) still has that content."""
    if not SHA256.fullmatch(sha256) or Image.objects.filter(sha256=sha256).exists():
        return
    _remove(pyramid_root(sha256))


def _remove(root: Path) -> None:
    # renamed first, so a reader never sees a half-deleted pyramid as one
    doomed = root.parent / f".deleting-{root.name}-{uuid.uuid4().hex[:8]}"
    try:
        os.replace(root, doomed)
    except FileNotFoundError:
        return
    except OSError:
        logger.exception("Could not delete %s; `manage.py sweep_media` will.", root)
        return
    shutil.rmtree(doomed, ignore_errors=True)


def sweep_pyramids(*, older_than_s: float, dry_run: bool = False) -> list[str]:
    """Delete pyramids (and partial ones) that no image references and that are older than ``older_than_s``."""
    folder = tiles_folder()
    if not folder.is_dir():
        return []
    cutoff = time.time() - older_than_s
    removed = []
    for path in sorted(folder.iterdir()):
        if path.lstat().st_mtime > cutoff:
            continue
        sha = path.name if SHA256.fullmatch(path.name) else None
        if sha is not None and Image.objects.filter(sha256=sha).exists():
            continue
        removed.append(f"{TILES_FOLDER}/{path.name}/")
        if dry_run:
            continue
        if sha is not None and path.is_dir():
            _remove(path)
        elif path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
    return removed


__all__ = ["TILE_CONTENT_TYPE", "TILE_SIZE", "TILE_SUFFIX", "pyramid_of", "tile_path"]
