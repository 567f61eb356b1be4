"""The upload path's one hook for volumes: the staged files of an upload as they are to be checked and stored.

Call :func:`prepare_stacks` after staging (files and unpacked zips) and before checking: every gzip NIfTI
becomes the ``.nii`` it holds (:func:`backend.images.sources.nifti.stored_nifti`) and the instances of each DICOM
series become one series file (:func:`backend.images.sources.dicom_series.group_series`). Other files pass through
unchanged, in order. InvalidInput says which file or series cannot be used; nothing is stored then.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from backend.images.sources.dicom_series import group_series
from backend.images.sources.nifti import stored_nifti


def prepare_stacks(staged: list[Any], directory: Path) -> list[Any]:
    """``staged`` (StagedFiles in ``directory``) with volumes in their stored form."""
    return group_series([stored_nifti(item, directory) for item in staged], directory)
