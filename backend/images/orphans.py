"""Media files that no image references: those of an upload that rolled back, and those left by a killed process."""

import logging
import time
from collections.abc import Iterable
from pathlib import Path

from django.db import DatabaseError
from django.db.models import Q

from backend.images.models import Image
from backend.images.tiles import delete_pyramid_unless_used, sha_of_pyramid_name, sweep_pyramids

logger = logging.getLogger(__name__)
IMAGE_FOLDERS = ("images", "thumbnails")  # under projects/<id>/, as in the upload_to of Image's file fields


def _storage():
    return Image._meta.get_field("file").storage


def _referenced(names: list[str]) -> set[str]:
    rows = Image.objects.filter(Q(file__in=names) | Q(thumbnail__in=names)).values_list("file", "thumbnail")
    return {name for row in rows for name in row}


def discard_unreferenced(names: Iterable[str]) -> None:
    """Delete these files unless an image references them (committed by another upload of the same content)."""
    names = list(names)
    for name in names:  # tile pyramids an upload placed: gone unless an image of that content exists
        if (sha := sha_of_pyramid_name(name)) is not None:
            try:
                delete_pyramid_unless_used(sha)
            except DatabaseError:
                logger.warning("Could not check whether pyramid %s is referenced; `sweep_media` will.", sha)
    names = [name for name in names if sha_of_pyramid_name(name) is None]
    if not names:
        return
    try:
        referenced = _referenced(names)
    except DatabaseError:
        logger.warning("Could not check which of %d files are referenced; deleting them all.", len(names))
        referenced = set()
    storage = _storage()
    for name in names:
        if name not in referenced:
            try:
                storage.delete(name)
            except OSError:
                logger.exception("Could not delete %s; `manage.py sweep_media` will.", name)


def _project_files(root: Path) -> Iterable[tuple[int | None, Path]]:
    for project_dir in sorted((root / "projects").glob("*")):
        project_id = int(project_dir.name) if project_dir.name.isdigit() else None
        for folder in IMAGE_FOLDERS:
            for path in sorted((project_dir / folder).glob("*")):
                if path.is_file() or path.is_symlink():
                    yield project_id, path


def sweep_orphans(*, older_than_s: float, dry_run: bool = False) -> list[str]:
    """Delete image files, thumbnails and tile pyramids that no image row references and that were not written in
    the last `older_than_s` seconds (an upload in progress writes its files before it commits its rows)."""
    storage = _storage()
    root = Path(storage.location)
    cutoff = time.time() - older_than_s
    known: dict[int | None, set[str]] = {}
    removed = []
    for project_id, path in _project_files(root):
        if project_id not in known:
            rows = Image.objects.filter(project_id=project_id).values_list("file", "thumbnail")
            known[project_id] = {name for row in rows for name in row} if project_id is not None else set()
        name = path.relative_to(root).as_posix()
        if name in known[project_id] or path.lstat().st_mtime > cutoff:
            continue
        removed.append(name)
        if not dry_run:
            path.unlink(missing_ok=True)
    return removed + sweep_pyramids(older_than_s=older_than_s, dry_run=dry_run)
