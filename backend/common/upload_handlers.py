"""An upload handler that counts the file bytes of a request as they arrive and stops past MAX_UPLOAD_BYTES.

It runs before Django's memory and temporary-file handlers (FILE_UPLOAD_HANDLERS), so an oversized multipart
body is refused before the rest of it is written to disk, whatever the client declared.
"""

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler

from backend.common.errors import TooLarge


class UploadLimitHandler(FileUploadHandler):
    def __init__(self, request=None) -> None:
        super().__init__(request)
        self.received = 0

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        self.received += len(raw_data)
        limit = settings.MAX_UPLOAD_BYTES
        if self.received > limit:
            raise TooLarge(
                f"The files of this request passed {limit:,} bytes (MAX_UPLOAD_BYTES); nothing was stored.",
                code="upload_too_large",
            )
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None
