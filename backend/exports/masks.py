"""Label masks: one grayscale label PNG and one pseudo-colour PNG per image (the paper's tool's "segmentation
mask" and "pseudo colour" exports).

Layout: ``images/`` (the image files), ``masks/<stem>.png`` (8-bit grayscale, mode ``L``: pixel = the label's
index in the project's label order, from 1; 0 = background; 16-bit ``I;16`` when a project has over 255
labels), ``pseudo_color/<stem>.png`` (palette PNG, mode ``P``, the same indices painted with the standard
Pascal VOC colormap; not written for projects of over 255 labels) and ``labels.txt`` (line i names index i,
line 0 ``background``). Where objects overlap, the later object (in creation order) is painted over the earlier
one, as on the canvas.
"""

import functools
import io
import struct
import zlib
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np
from PIL import Image as PILImage

from backend.exports.contents import ExportContents
from backend.exports.rings import ObjectRuns, painted
from backend.exports.rows import ImageRow, batches
from backend.exports.voc_labels import voc_colormap

IMAGES_DIR = "images"
GRAY_DIR = "masks"
PSEUDO_DIR = "pseudo_color"
LABELS_PATH = "labels.txt"
VOC_PALETTE = [channel for index in range(256) for channel in voc_colormap(index)]
VOC_PALETTE_BYTES = bytes(VOC_PALETTE)
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PENDING_ENTRIES = 16


def label_map(contents: ExportContents, image: ImageRow, runs: ObjectRuns) -> np.ndarray:
    """The image's label indices (uint8, or uint16 past 255 labels); later objects over earlier ones, painted from
    their stored runs (no mask decoded)."""
    dtype = np.uint8 if len(contents.labels) <= 255 else np.uint16
    categories = [contents.category_of(obj.label_id) for obj in image.objects]
    return painted(runs, categories, image.height, image.width, dtype)


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def label_png(indices: np.ndarray, palette: bytes | None = None) -> bytes:
    """An 8-bit PNG of a uint8 label map: grayscale, or a palette PNG with ``palette`` (256 RGB triples).

    Written here rather than by Pillow (which reads it back the same: mode ``L`` or ``P``, the same pixels and
    palette) because Pillow filters each grayscale row adaptively, four times the time on a label map. Rows go
    unfiltered into zlib at level 1 with its run-length strategy: label maps are long runs."""
    height, width = indices.shape
    rows = np.zeros((height, width + 1), np.uint8)  # each row: filter type 0, then its pixels
    rows[:, 1:] = indices
    compressor = zlib.compressobj(1, zlib.DEFLATED, 15, 9, zlib.Z_RLE)
    data = compressor.compress(rows.data) + compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, 8, 0 if palette is None else 3, 0, 0, 0)
    colours = b"" if palette is None else _chunk(b"PLTE", palette)
    return PNG_SIGNATURE + _chunk(b"IHDR", header) + colours + _chunk(b"IDAT", data) + _chunk(b"IEND", b"")


def gray_png(indices: np.ndarray) -> bytes:
    if indices.dtype == np.uint8:
        return label_png(indices)
    buffer = io.BytesIO()
    PILImage.fromarray(np.ascontiguousarray(indices, dtype="<u2"), mode="I;16").save(
        buffer, format="PNG", compress_level=1
    )
    return buffer.getvalue()


def pseudo_png(indices: np.ndarray) -> bytes:
    return label_png(indices.astype(np.uint8, copy=False), VOC_PALETTE_BYTES)


def labels_text(contents: ExportContents) -> str:
    return "".join(f"{name}\n" for name in ["background", *(label.name for label in contents.labels)])


def compressed_in_order(entries: Iterable[tuple[str, bytes | Callable[[], bytes]]]) -> Iterator[tuple[str, bytes]]:
    """The entries in order, each callable one made in a worker thread: PNG compression (zlib lets go of the GIL)
    runs beside the next image's painting, on the other core. At most ``PENDING_ENTRIES`` wait."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="export-png") as pool:
        pending: deque[tuple[str, bytes | Future[bytes]]] = deque()
        for path, entry in entries:
            pending.append((path, pool.submit(entry) if callable(entry) else entry))
            while len(pending) > PENDING_ENTRIES:
                yield _done(*pending.popleft())
        while pending:
            yield _done(*pending.popleft())


def _done(path: str, entry: bytes | Future[bytes]) -> tuple[str, bytes]:
    return path, entry.result() if isinstance(entry, Future) else entry


def mask_files(contents: ExportContents) -> Iterator[tuple[str, bytes]]:
    """(path in the archive, bytes) of everything but the image files themselves, one image at a time."""
    yield from compressed_in_order(_mask_entries(contents))
    yield LABELS_PATH, labels_text(contents).encode()


def _mask_entries(contents: ExportContents) -> Iterator[tuple[str, Callable[[], bytes]]]:
    with_pseudo = len(contents.labels) <= 255
    for batch in batches(contents):
        for image in batch.images:
            indices = label_map(contents, image, batch.runs_of(image))
            yield f"{GRAY_DIR}/{image.stem}.png", functools.partial(gray_png, indices)
            if with_pseudo:
                yield f"{PSEUDO_DIR}/{image.stem}.png", functools.partial(pseudo_png, indices)
