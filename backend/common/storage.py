"""Media storage for content-addressed files: a name is its content, so saving it again replaces it.

Django's FileSystemStorage invents `name_AbC12xY.png` when the name is taken, which after a crashed upload left
the plain name to an orphan. Here a save writes a `.partial` file beside the target and renames it over the
target, so the file under its name is always whole, even if the process dies mid-write.
"""

import os
import secrets

from django.core.files import File
from django.core.files.storage import FileSystemStorage
from django.utils._os import safe_makedirs

PARTIAL_SUFFIX = ".partial"


class _Written(File):
    """A file already on disk, which FileSystemStorage moves into place instead of copying."""

    def temporary_file_path(self) -> str:
        return self.name


class ReplacingFileSystemStorage(FileSystemStorage):
    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("allow_overwrite", True)
        super().__init__(**kwargs)

    def _save(self, name: str, content: File) -> str:
        if hasattr(content, "temporary_file_path"):
            return super()._save(name, content)
        full_path = self.path(name)
        directory = os.path.dirname(full_path)
        if self.directory_permissions_mode is not None:
            safe_makedirs(directory, self.directory_permissions_mode, exist_ok=True)
        else:
            os.makedirs(directory, exist_ok=True)
        partial = f"{full_path}.{secrets.token_hex(6)}{PARTIAL_SUFFIX}"
        try:
            with open(partial, "xb") as out:
                for chunk in content.chunks():
                    out.write(chunk.encode() if isinstance(chunk, str) else chunk)
            # A rename in one directory: atomic, and it replaces a file of the same name.
            return super()._save(name, _Written(None, name=partial))
        finally:
            if os.path.exists(partial):
                os.unlink(partial)
