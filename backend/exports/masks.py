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
from backend.exports.rings import painted_images
from backend.exports.rows import Batch, batches
from backend.exports.strips import is_large, strip_png_data
from backend.exports.voc_labels import voc_colormap

IMAGES_DIR = "images"
GRAY_DIR = "masks"
PSEUDO_DIR = "pseudo_color"
LABELS_PATH = "labels.txt"
VOC_PALETTE_BYTES = bytes(channel for index in range(256) for channel in voc_colormap(index))
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PENDING_JOBS = 8
PENDING_PIXELS = 16_000_000  # label maps painted, waiting for compression


def label_maps(contents: ExportContents, batch: Batch) -> list[np.ndarray]:
    """Each image's label indices (uint8, or uint16 past 255 labels), later objects over earlier ones, painted
    from the objects' stored runs (no mask decoded), every image of the batch together."""
    dtype = np.uint8 if len(contents.labels) <= 255 else np.uint16
    categories = [contents.category_of(obj.label_id) for image in batch.images for obj in image.objects]
    counts = [len(image.objects) for image in batch.images]
    shapes = [(image.height, image.width) for image in batch.images]
    return [maps[0] for maps in painted_images(batch.runs, counts, shapes, [categories], dtype)]


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_data(indices: np.ndarray) -> bytes:
    """The compressed pixels (IDAT) of an 8-bit PNG of a uint8 label map: rows unfiltered, zlib at level 1 with its
    run-length strategy (label maps are long runs). A grayscale and a palette PNG of one map share them."""
    rows = np.zeros((indices.shape[0], indices.shape[1] + 1), np.uint8)  # each row: filter type 0, its pixels
    rows[:, 1:] = indices
    compressor = png_compressor()
    return compressor.compress(rows.data) + compressor.flush()


def png_compressor() -> "zlib._Compress":
    return zlib.compressobj(1, zlib.DEFLATED, 15, 9, zlib.Z_RLE)


def png_file(shape: tuple[int, ...], data: bytes, palette: bytes | None = None) -> bytes:
    """An 8-bit PNG of ``png_data``: grayscale, or a palette PNG with ``palette`` (256 RGB triples).

    Written here rather than by Pillow (which reads it back the same: mode ``L`` or ``P``, the same pixels and
    palette) because Pillow filters each grayscale row adaptively, four times the time on a label map."""
    height, width = shape[:2]
    header = struct.pack(">IIBBBBB", width, height, 8, 0 if palette is None else 3, 0, 0, 0)
    colours = b"" if palette is None else _chunk(b"PLTE", palette)
    return PNG_SIGNATURE + _chunk(b"IHDR", header) + colours + _chunk(b"IDAT", data) + _chunk(b"IEND", b"")


def label_png(indices: np.ndarray, palette: bytes | None = None) -> bytes:
    return png_file(indices.shape, png_data(indices), palette)


def gray_png(indices: np.ndarray) -> bytes:
    if indices.dtype == np.uint8:
        return label_png(indices)
    buffer = io.BytesIO()
    PILImage.fromarray(np.ascontiguousarray(indices, dtype="<u2"), mode="I;16").save(
        buffer, format="PNG", compress_level=1
    )
    return buffer.getvalue()


def labels_text(contents: ExportContents) -> str:
    return "".join(f"{name}\n" for name in ["background", *(label.name for label in contents.labels)])


Job = Callable[[], list[tuple[str, bytes]]]


def in_worker(jobs: Iterable[tuple[Job, int]]) -> Iterator[tuple[str, bytes]]:
    """The entries each job makes, in order, the jobs run in a worker thread: PNG compression (zlib lets go of the
    GIL) runs beside the next images' painting, on the other core. Each job comes with the pixels of the maps it
    holds; at most ``PENDING_JOBS`` jobs and ``PENDING_PIXELS`` pixels wait (one huge image waits alone)."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="export-png") as pool:
        pending: deque[tuple[Future[list[tuple[str, bytes]]], int]] = deque()
        waiting_pixels = 0
        for job, pixels in jobs:
            pending.append((pool.submit(job), pixels))
            waiting_pixels += pixels
            while pending and (len(pending) > PENDING_JOBS or waiting_pixels > PENDING_PIXELS):
                done, done_pixels = pending.popleft()
                waiting_pixels -= done_pixels
                yield from done.result()
        while pending:
            yield from pending.popleft()[0].result()


def mask_files(contents: ExportContents) -> Iterator[tuple[str, bytes]]:
    """(path in the archive, bytes) of everything but the image files themselves, one image at a time."""
    yield from in_worker(_mask_jobs(contents))
    yield LABELS_PATH, labels_text(contents).encode()


def _mask_jobs(contents: ExportContents) -> Iterator[tuple[Job, int]]:
    for batch in batches(contents):
        if len(contents.labels) <= 255 and any(is_large(image) for image in batch.images):
            yield from _large_mask_jobs(contents, batch)
            continue
        for image, indices in zip(batch.images, label_maps(contents, batch), strict=True):
            yield functools.partial(_mask_pngs, image.stem, indices), image.pixels


def _large_mask_jobs(contents: ExportContents, batch: Batch) -> Iterator[tuple[Job, int]]:
    """A batch holding a huge image: that image's map painted strip by strip (``strips``), the others alone."""
    for image in batch.images:
        runs = batch.runs_of(image)
        categories = [contents.category_of(obj.label_id) for obj in image.objects]
        if is_large(image):
            data = strip_png_data(runs, categories, image.height, image.width)
            yield functools.partial(_mask_pngs_of, image.stem, (image.height, image.width), data), 0
        else:
            ((indices,),) = painted_images(
                runs, [len(image.objects)], [(image.height, image.width)], [categories], np.uint8
            )
            yield functools.partial(_mask_pngs, image.stem, indices), image.pixels


def _mask_pngs(stem: str, indices: np.ndarray) -> list[tuple[str, bytes]]:
    if indices.dtype != np.uint8:  # over 255 labels: 16-bit grayscale only
        return [(f"{GRAY_DIR}/{stem}.png", gray_png(indices))]
    return _mask_pngs_of(stem, indices.shape, png_data(indices))


def _mask_pngs_of(stem: str, shape: tuple[int, ...], data: bytes) -> list[tuple[str, bytes]]:
    """The grayscale and pseudo-colour PNGs of one uint8 map's compressed pixels."""
    return [
        (f"{GRAY_DIR}/{stem}.png", png_file(shape, data)),
        (f"{PSEUDO_DIR}/{stem}.png", png_file(shape, data, VOC_PALETTE_BYTES)),
    ]
