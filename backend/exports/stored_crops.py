"""A stored mask (COCO RLE) within its bounding box, decoded without building the whole image's mask.

Exports read every object and an object is small next to its image: :func:`stored_crop` turns the RLE's runs
into the box's columns only. :func:`rle_runs` reads pycocotools' compressed counts with NumPy.
"""

import numpy as np


def rle_runs(text: str) -> np.ndarray | None:
    """Run lengths of a compressed COCO RLE string (pycocotools' ``rleFrString``), or ``None`` if it is malformed.

    Each count is written in 5-bit groups ('0' + value, 0x20 = more groups follow, 0x10 in the last = negative);
    from the fourth count on, each is stored as its difference to the count two before.
    """
    if not text:
        return np.zeros(0, dtype=np.int64)
    if not text.isascii():
        return None
    chars = np.frombuffer(text.encode("ascii"), dtype=np.uint8).astype(np.int64) - 48
    ends = np.flatnonzero((chars & 0x20) == 0)
    if chars.min() < 0 or chars.max() > 63 or ends.size == 0 or ends[-1] != chars.size - 1:
        return None
    starts = np.concatenate([[0], ends[:-1] + 1])
    lengths = ends - starts + 1
    if lengths.max() > 7:  # 35 bits: more than any 32-bit count needs
        return None
    position = np.arange(chars.size) - np.repeat(starts, lengths)
    values = np.add.reduceat((chars & 0x1F) << (5 * position), starts)
    values = np.where(chars[ends] & 0x10, values - (1 << (5 * lengths)), values)
    runs = values.copy()
    runs[1::2] = np.cumsum(values[1::2])
    runs[2::2] = np.cumsum(values[2::2])
    return runs if (runs >= 0).all() else None


def cropped(mask: np.ndarray) -> tuple[np.ndarray, int, int]:
    """The mask within its bounding box, and the box's left and top."""
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if rows.size == 0:
        return mask[:0, :0], 0, 0
    return mask[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1], int(cols[0]), int(rows[0])


def stored_crop(mask_rle: dict) -> tuple[np.ndarray, int, int]:
    """The stored mask within its bounding box, and the box's left and top, decoding only the box's columns (an
    object is small next to its image; exports decode every object)."""
    height = int(mask_rle["size"][0])
    counts = mask_rle["counts"]
    runs = np.asarray(counts, dtype=np.int64) if isinstance(counts, list) else rle_runs(counts)
    if runs is None or runs.size < 2:
        return np.zeros((0, 0), dtype=bool), 0, 0
    ends = np.cumsum(runs)
    starts, ends = (ends - runs)[1::2], ends[1::2]  # foreground runs, in column-major order
    starts, ends = starts[ends > starts], ends[ends > starts]
    if starts.size == 0:
        return np.zeros((0, 0), dtype=bool), 0, 0
    x0, x1 = int(starts[0] // height), int((ends[-1] - 1) // height) + 1
    first_column, last_column = starts // height, (ends - 1) // height
    if (first_column == last_column).all():
        # Every run lies within one column (an object shorter than its image): only the rows the runs reach are
        # decoded, so a gigapixel image's object costs its box, not its columns' whole height.
        rows = starts - first_column * height
        top, box_height = int(rows.min()), int((rows + ends - starts).max() - rows.min())
        local_starts = (first_column - x0) * box_height + rows - top
        local_ends = local_starts + (ends - starts)
    else:
        top, box_height = 0, height
        local_starts, local_ends = starts - x0 * height, ends - x0 * height
    length = (x1 - x0) * box_height + 1
    edges = np.bincount(local_starts, minlength=length) - np.bincount(local_ends, minlength=length)
    columns = (np.cumsum(edges[:-1]) > 0).reshape(x1 - x0, box_height).T
    crop, _, y0 = cropped(columns)
    return crop, x0, top + y0
