"""Names of project-specific model versions: ``<base>-p<project id>-v<n>``."""

import re

_VERSIONED = re.compile(r"^(?P<base>.+)-p(?P<project>\d+)-v(?P<version>\d+)$")


def root_model(name: str) -> str:
    """The general model a project version was made from (``x-p3-v2`` → ``x``)."""
    match = _VERSIONED.match(name)
    return match["base"] if match else name


def owner_project(name: str) -> int | None:
    """The project a versioned model belongs to, or ``None`` for a general model."""
    match = _VERSIONED.match(name)
    return int(match["project"]) if match else None


def next_version_name(base: str, project_id: int, existing: list[str]) -> str:
    """``<root of base>-p<project>-v<n>`` with ``n`` one more than the highest existing version."""
    root = root_model(base)
    versions = [
        int(m["version"])
        for m in map(_VERSIONED.match, existing)
        if m and m["base"] == root and int(m["project"]) == project_id
    ]
    return f"{root}-p{project_id}-v{max(versions, default=0) + 1}"
