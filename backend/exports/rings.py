"""An object's stored mask as pixel-edge rings (the convention of ``coco_geometry``) for LabelMe and YOLO.

:func:`object_rings` gives every outline of the mask, holes included, in painting order: painting each ring's
filled inside in turn — outer rings with 1, hole rings with 0 — gives back the mask exactly, because a ring is
painted after every ring that encloses it (rings come largest first). The holes are the outlines of the pixels
inside the outer rings but outside the mask; an island inside a hole is an outer ring of its own.

Exports read every object, so they take the fast paths further down, which work on many objects at once and
never decode a whole mask: :class:`ObjectRuns` (the stored masks' runs, all RLE strings decoded in one pass),
:func:`traced_rings` (coco_geometry's rings, from the runs), :func:`outlines` and :func:`outer_outlines`
(``object_rings`` and ``outer_rings`` from those) and :func:`painted_images` (label maps). ``object_rings``,
``outer_rings``, ``mask_rings`` and ``stored_crop`` are the plain versions the tests hold them to.
"""

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from backend.exports.coco_geometry import coco_polygons_to_mask, mask_to_coco_polygons
from backend.exports.stored_crops import cropped, rle_runs, stored_crop


@dataclass(frozen=True)
class Ring:
    points: list[float]  # flat [x0, y0, x1, y1, ...] in image pixels, pixel-edge outline
    hole: bool


def ring_area(points: list[float]) -> float:
    xs, ys = np.asarray(points[0::2], float), np.asarray(points[1::2], float)
    return abs(float((xs * np.roll(ys, -1) - np.roll(xs, -1) * ys).sum())) / 2


def _shifted(ring: list[float], x0: int, y0: int) -> list[float]:
    shifted = np.asarray(ring, float).reshape(-1, 2) + np.array([x0, y0], float)
    return shifted.ravel().tolist()


def mask_rings(mask: np.ndarray) -> list[Ring]:
    """Outer and hole rings of a bool mask, largest first (see the module's docstring)."""
    crop, x0, y0 = cropped(np.asarray(mask, dtype=bool))
    if crop.size == 0:
        return []
    outers = mask_to_coco_polygons(crop)
    filled = coco_polygons_to_mask(outers, *crop.shape)
    holes = mask_to_coco_polygons(filled & ~crop) if (filled & ~crop).any() else []
    rings = [Ring(_shifted(r, x0, y0), False) for r in outers] + [Ring(_shifted(r, x0, y0), True) for r in holes]
    return sorted(rings, key=lambda ring: -ring_area(ring.points))


def object_rings(mask_rle: dict) -> list[Ring]:
    crop, x0, y0 = stored_crop(mask_rle)
    return [Ring(_shifted(ring.points, x0, y0), ring.hole) for ring in mask_rings(crop)]


def outer_rings(mask_rle: dict) -> list[list[float]]:
    """Only the outer rings (formats without holes): image-pixel flat lists, largest first."""
    crop, x0, y0 = stored_crop(mask_rle)
    if crop.size == 0:
        return []
    rings = [_shifted(ring, x0, y0) for ring in mask_to_coco_polygons(crop)]
    return sorted(rings, key=lambda ring: -ring_area(ring))


def paint_rings(rings: list[Ring], height: int, width: int) -> np.ndarray:
    """The mask drawn back from rings in their order: outer rings add their inside, holes remove theirs."""
    mask = np.zeros((height, width), dtype=bool)
    for ring in rings:
        inside = coco_polygons_to_mask([ring.points], height, width)
        mask[inside] = not ring.hole
    return mask


# ---- Fast paths from the stored runs (exports read every object: no dense mask where the runs suffice) ----


def _changes(values: np.ndarray) -> np.ndarray:
    """True where an element differs from the one before (and at the first)."""
    changes = np.ones(values.size, dtype=bool)
    changes[1:] = values[1:] != values[:-1]
    return changes


def _segmented_cumsum(values: np.ndarray, segment: np.ndarray) -> np.ndarray:
    """Cumulative sums of ``values`` restarting where ``segment`` (non-decreasing) changes."""
    sums = np.cumsum(values)
    if values.size == 0:
        return sums
    first = np.flatnonzero(_changes(segment))
    offsets = (sums - values)[first]
    return sums - np.repeat(offsets, np.diff(np.append(first, values.size)))


def _decoded(counts: Sequence[str | list]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(runs, mask, index)`` of every run of many RLE ``counts`` (compressed strings, as ``rle_runs`` reads them,
    or lists): its length, which mask it belongs to and its index in that mask's runs; a malformed mask has none.

    Strings are decoded in one numpy pass (per-call costs dominate small masks); any oddity (a list, an empty or
    non-ASCII text, a bad character, an over-long count) decodes them one by one instead."""
    texts = [text for text in counts if isinstance(text, str) and text and text.isascii()]
    if len(texts) < len(counts) or not texts:
        return _decoded_one_by_one(counts)
    chars = np.frombuffer("".join(texts).encode("ascii"), dtype=np.uint8).astype(np.int64) - 48
    bounds = np.cumsum([len(text) for text in texts])
    last = (chars & 0x20) == 0  # the last character of each count
    if chars.min() < 0 or chars.max() > 63 or not last[bounds - 1].all():
        return _decoded_one_by_one(counts)
    ends = np.flatnonzero(last)
    starts = np.concatenate([[0], ends[:-1] + 1])
    lengths = ends - starts + 1
    if lengths.max() > 7:
        return _decoded_one_by_one(counts)
    position = np.arange(chars.size) - np.repeat(starts, lengths)
    values = np.add.reduceat((chars & 0x1F) << (5 * position), starts)
    values = np.where(chars[ends] & 0x10, values - (1 << (5 * lengths)), values)
    mask = np.searchsorted(bounds, ends, side="right")  # the text of each count
    sizes = np.bincount(mask, minlength=len(texts))
    firsts = np.cumsum(sizes) - sizes
    index = np.arange(values.size) - np.repeat(firsts, sizes)
    # From the fourth count on, each is stored as its difference to the count two before.
    runs = values.copy()
    for parity in (1, 0):
        chosen = (index % 2 == parity) & (index > 0)
        runs[chosen] = _segmented_cumsum(values[chosen], mask[chosen])
    keep = (np.minimum.reduceat(runs, firsts) >= 0)[mask]  # rle_runs refuses a negative count
    return runs[keep], mask[keep], index[keep]


def _decoded_one_by_one(counts: Sequence[str | list]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    decoded = [np.asarray(c, dtype=np.int64) if isinstance(c, list) else rle_runs(c) for c in counts]
    kept = [runs if runs is not None else np.zeros(0, np.int64) for runs in decoded]
    sizes = np.array([runs.size for runs in kept], dtype=np.int64)
    runs = np.concatenate(kept) if kept else np.zeros(0, np.int64)
    index = np.arange(runs.size) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    return runs, np.repeat(np.arange(len(kept)), sizes), index


@dataclass(frozen=True)
class ObjectRuns:
    """Several objects' stored masks as runs, object after object: ``spans`` are each object's foreground runs as
    they are stored, ``(owners, starts, ends)`` in column-major pixel order (touching runs merged); the column
    runs split them by column: object ``owners[i]`` has the pixels ``tops[i] .. bottoms[i] - 1`` of column
    ``columns[i]``."""

    count: int
    heights: np.ndarray  # per object
    spans: tuple[np.ndarray, np.ndarray, np.ndarray]
    owners: np.ndarray
    columns: np.ndarray
    tops: np.ndarray
    bottoms: np.ndarray

    def first(self, count: int) -> "ObjectRuns":
        """The runs of the first ``count`` objects."""
        return self.select(0, min(count, self.count))

    def select(self, start: int, stop: int) -> "ObjectRuns":
        """The runs of objects ``start .. stop - 1``, numbered from 0."""
        run_range, span_range = (np.searchsorted(owners, [start, stop]) for owners in (self.owners, self.spans[0]))
        runs = slice(*run_range.tolist())
        spans = slice(*span_range.tolist())
        span_owners, span_starts, span_ends = (a[spans] for a in self.spans)
        return ObjectRuns(
            stop - start,
            self.heights[start:stop],
            (span_owners - start, span_starts, span_ends),
            self.owners[runs] - start,
            self.columns[runs],
            self.tops[runs],
            self.bottoms[runs],
        )

    def crop(self, number: int) -> tuple[np.ndarray, int, int]:
        """The object's mask within its bounding box, and the box's left and top (``stored_crop``'s result)."""
        run_range = np.searchsorted(self.owners, [number, number + 1]).tolist()
        columns, tops, bottoms = (a[slice(*run_range)] for a in (self.columns, self.tops, self.bottoms))
        if columns.size == 0:
            return np.zeros((0, 0), dtype=bool), 0, 0
        x0, y0 = int(columns[0]), int(tops.min())
        height = int(bottoms.max()) - y0
        flat = np.zeros((int(columns[-1]) - x0 + 1) * height + 1, dtype=np.int8)
        flat[(columns - x0) * height + tops - y0] = 1
        flat[(columns - x0) * height + bottoms - y0] -= 1
        crop = np.cumsum(flat[:-1], dtype=np.int8).view(bool).reshape(-1, height).T
        return crop, x0, y0

    def _arrays(self) -> tuple[np.ndarray, ...]:
        return self.owners, self.columns, self.tops, self.bottoms


def object_runs(mask_rles: Sequence[dict]) -> ObjectRuns:
    """The column runs of stored masks, their RLE strings decoded together (numpy's per-call cost, not the data,
    is what a small mask costs)."""
    heights = np.array([int(rle["size"][0]) for rle in mask_rles], dtype=np.int64)
    runs, mask, index = _decoded([rle["counts"] for rle in mask_rles])
    ends = _segmented_cumsum(runs, mask)
    foreground = (index % 2 == 1) & (runs > 0)  # every other run, from the second; empty ones dropped
    owners, ends = mask[foreground], ends[foreground]
    starts = ends - runs[foreground]
    if starts.size > 1:  # a zero-length background run between two of an object: one run
        apart = (starts[1:] != ends[:-1]) | (owners[1:] != owners[:-1])
        first_of, last_of = np.append(True, apart), np.append(apart, True)
        owners, starts, ends = owners[first_of], starts[first_of], ends[last_of]
    return _split_by_column(len(mask_rles), heights, owners, starts, ends)


def mask_runs(masks: Sequence[np.ndarray]) -> ObjectRuns:
    """The runs of bool masks (of any sizes; coordinates within each), found together."""
    heights = np.array([mask.shape[0] for mask in masks], dtype=np.int64)
    sizes = np.array([mask.size + 1 for mask in masks], dtype=np.int64)  # each column-major, then one False
    pixels = np.zeros(int(sizes.sum()) + 1, dtype=np.int8)
    offsets = np.cumsum(sizes) - sizes + 1
    for mask, offset in zip(masks, offsets.tolist(), strict=True):
        pixels[offset : offset + mask.size] = mask.T.ravel()
    changes = np.flatnonzero(np.diff(pixels))  # a run starts at one change and ends at the next
    starts, ends = changes[0::2] + 1, changes[1::2] + 1
    owners = np.searchsorted(offsets, starts, side="right") - 1
    return _split_by_column(len(masks), heights, owners, starts - offsets[owners], ends - offsets[owners])


def _split_by_column(
    count: int, heights: np.ndarray, owners: np.ndarray, starts: np.ndarray, ends: np.ndarray
) -> ObjectRuns:
    spans = owners, starts, ends
    height = heights[owners]
    first, last = starts // height, (ends - 1) // height
    pieces = last - first + 1
    if starts.size and pieces.max() > 1:  # runs across columns: one piece per column
        which = np.repeat(np.arange(starts.size), pieces)
        column = first[which] + np.arange(which.size) - np.repeat(np.cumsum(pieces) - pieces, pieces)
        tops = np.maximum(starts[which] - column * height[which], 0)
        bottoms = np.minimum(ends[which] - column * height[which], height[which])
        return ObjectRuns(count, heights, spans, owners[which], column, tops, bottoms)
    return ObjectRuns(count, heights, spans, owners, first, starts - first * height, ends - first * height)


def _last_owners(owners: np.ndarray, starts: np.ndarray, ends: np.ndarray, cuts: np.ndarray) -> np.ndarray:
    """For the pieces between consecutive ``cuts`` (sorted, every run's start and end among them): the last
    object covering each (k + 1 for the k-th object, 0 for none)."""
    first, last = np.searchsorted(cuts, starts), np.searchsorted(cuts, ends)
    covered = last - first  # how many pieces each run covers
    pieces = np.repeat(first - (np.cumsum(covered) - covered), covered) + np.arange(covered.sum())
    owner = np.zeros(cuts.size - 1, dtype=np.int64)
    np.maximum.at(owner, pieces, np.repeat(owners + 1, covered))
    return owner


def _sorted_unique(values: np.ndarray) -> np.ndarray:
    values.sort()
    return values[_changes(values)]


def painted(runs: ObjectRuns, values: Sequence[int], height: int, width: int, dtype: type) -> np.ndarray:
    """A ``height × width`` map of each object's value over its pixels, later objects over earlier ones (0 where
    none is); :func:`painted_images` for one image."""
    (image_maps,) = painted_images(runs, [runs.count], [(height, width)], [values], dtype)
    return image_maps[0]


def painted_images(
    runs: ObjectRuns,
    counts: Sequence[int],
    shapes: Sequence[tuple[int, int]],
    value_sets: Sequence[Sequence[int]],
    dtype: type,
) -> list[list[np.ndarray]]:
    """Maps of images whose objects are the runs' objects in order (``counts[i]`` for the image of ``shapes[i]``,
    ``(height, width)``): for each image, one ``height × width`` map per value set (a value per object), each
    object's value over its pixels, later objects over earlier ones, 0 where none is.

    Built without a loop over runs: the images' column-major pixels, one image after another, are cut into pieces
    at every run's ends, each piece takes the value of the last object covering it, and the maps are those values
    repeated over the pieces' lengths. Images with an object of another height are painted run by run."""
    count = len(counts)
    image_of = np.repeat(np.arange(count), counts)
    heights, widths = (np.array([shape[i] for shape in shapes], dtype=np.int64) for i in (0, 1))
    if not (runs.heights == heights[image_of]).all():
        return [_painted_run_by_run(runs, counts, shapes, value_sets, dtype, image) for image in range(count)]
    sizes = heights * widths
    bases = np.cumsum(sizes) - sizes
    owners, starts, ends = runs.spans
    image = image_of[owners]
    starts, ends = bases[image] + np.minimum(starts, sizes[image]), bases[image] + np.minimum(ends, sizes[image])
    cuts = _sorted_unique(np.concatenate([bases, [sizes.sum()], starts, ends]))
    owner, lengths = _last_owners(owners, starts, ends, cuts), np.diff(cuts)
    flats = []
    for values in value_sets:
        lookup = np.zeros(runs.count + 1, dtype=dtype)
        lookup[1:] = values[: runs.count]
        flats.append(np.repeat(lookup[owner], lengths))
    places = zip(bases.tolist(), sizes.tolist(), heights.tolist(), widths.tolist(), strict=True)
    return [
        [flat[base : base + size].reshape(width, height).T for flat in flats] for base, size, height, width in places
    ]


def _painted_run_by_run(
    runs: ObjectRuns,
    counts: Sequence[int],
    shapes: Sequence[tuple[int, int]],
    value_sets: Sequence[Sequence[int]],
    dtype: type,
    image: int,
) -> list[np.ndarray]:
    first = sum(counts[:image])
    own = runs.select(first, first + counts[image])
    maps = []
    for values in value_sets:
        target = np.zeros(shapes[image], dtype)
        transposed = target.T
        for owner, column, top, bottom in zip(*(a.tolist() for a in own._arrays()), strict=True):
            transposed[column, top:bottom] = values[first + owner]
        maps.append(target)
    return maps


def _following(ends: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """For each piece (``ends``: its end point's key and its direction, ``(n, 3)`` key, dx, dy), the index of the
    piece in ``starts`` (its start point's key, dx, dy) that starts where it ends; of two (pixels touching
    diagonally) the right turn, so that 4-connected regions stay apart (coco_geometry's rule).

    Every corner of an outline ends as many pieces as it starts, so the two sorted key lists are equal and pair
    up in order; at a diagonal corner the two ending pieces (heading opposite ways) take the right turn each.
    The keys come nearly sorted, which the stable sort (timsort) makes cheap."""
    end_order, start_order = np.argsort(ends[:, 0], kind="stable"), np.argsort(starts[:, 0], kind="stable")
    sorted_keys = ends[end_order, 0]
    chosen = np.empty(len(ends), dtype=np.int64)
    chosen[end_order] = start_order
    twice = np.flatnonzero(sorted_keys[1:] == sorted_keys[:-1])  # positions p, p + 1 of one corner
    first = end_order[twice]
    cross = ends[first, 1] * starts[chosen[first], 2] - ends[first, 2] * starts[chosen[first], 1]
    swap = twice[cross <= 0]
    chosen[end_order[swap]], chosen[end_order[swap + 1]] = start_order[swap + 1], start_order[swap]
    return chosen


def _walk(following: np.ndarray, longest: int) -> tuple[np.ndarray, np.ndarray]:
    """The cycles of the permutation ``following``, each from its smallest element, in the order of those: every
    element in walking order, and each cycle's length. (What walking from each not yet visited element in turn
    gives, by pointer doubling: ``longest`` bounds a cycle's length.)"""
    count = following.size
    # After round k: the smallest element of the next 2**k (from each, itself first) and how many steps ahead.
    smallest, steps, ahead, span = np.arange(count), np.zeros(count, dtype=np.int64), following, 1
    for _ in range(max(1, int(longest - 1).bit_length())):
        better = smallest[ahead] < smallest
        smallest = np.where(better, smallest[ahead], smallest)
        steps = np.where(better, steps[ahead] + span, steps)
        ahead, span = ahead[ahead], 2 * span
    start = steps == 0
    length = steps[following] + 1  # from a start, its successor walks the whole cycle but one step
    rank = np.where(start, 0, length[smallest] - steps)
    order = np.lexsort((rank, smallest))
    return order, np.bincount(smallest, minlength=count)[start]


def traced_rings(runs: ObjectRuns) -> list[list[tuple[np.ndarray, int]]]:
    """Each object's pixel-edge rings as ``(n, 2)`` int arrays of image corners with twice their signed area
    (positive: an outer ring, negative: a hole): the rings, start points and order of ``coco_geometry``'s trace
    (``mask_to_coco_polygons`` keeps the positive ones), from the runs and for all objects at once.

    Horizontal pieces are the runs' top (foreground below, drawn +x) and bottom (drawn -x) edges merged along
    rows; vertical pieces lie where a column's runs differ from its left neighbour's (foreground right: drawn up).
    A ring is the cycle of horizontal pieces each reached through the vertical piece after it, started at its
    first piece in row-major order; its corners are each horizontal piece's start and end."""
    rings: list[list[tuple[np.ndarray, int]]] = [[] for _ in range(runs.count)]
    if runs.columns.size == 0:
        return rings
    owners, columns, tops, bottoms = runs._arrays()
    count = columns.size
    stride = int(max(columns.max() + 2, runs.heights.max() + 1))
    base = owners * (stride * stride)  # keys: object, then row (or column) and position
    # Horizontal unit edges (y, x, sign) in row-major order per object, merged into maximal pieces.
    keys = np.concatenate([base + tops * stride, base + bottoms * stride]) + np.concatenate([columns, columns])
    signs = np.ones(2 * count, dtype=np.int64)
    signs[count:] = -1
    order = np.argsort(keys, kind="stable")
    keys, signs = keys[order], signs[order]
    new = np.ones(keys.size, dtype=bool)
    new[1:] = (keys[1:] != keys[:-1] + 1) | (signs[1:] != signs[:-1])
    firsts = np.flatnonzero(new)
    lasts = np.append(firsts[1:], keys.size) - 1
    h_owner, within = keys[firsts] // (stride * stride), keys[firsts] % (stride * stride)
    hy, lo = within // stride, within % stride
    hi = keys[lasts] % stride + 1
    forward = signs[firsts] > 0
    h_start_x, h_end_x = np.where(forward, lo, hi), np.where(forward, hi, lo)
    # Vertical pieces: where fg(x) - fg(x - 1) is non-zero along the line x, between consecutive changes.
    keys = np.concatenate([base + columns * stride, base + (columns + 1) * stride])
    keys = np.concatenate([keys[:count] + tops, keys[:count] + bottoms, keys[count:] + tops, keys[count:] + bottoms])
    deltas = np.ones(4 * count, dtype=np.int64)
    deltas[count : 3 * count] = -1
    order = np.argsort(keys, kind="stable")
    keys, deltas = keys[order], deltas[order]
    firsts = np.flatnonzero(_changes(keys))
    keys, deltas = keys[firsts], np.add.reduceat(deltas, firsts)
    keys, values = keys[deltas != 0], np.cumsum(deltas[deltas != 0])
    inside = np.flatnonzero(values[:-1] != 0)  # a line's changes end at zero: the next change is on the line
    v_base, v_line = keys[inside] - keys[inside] % (stride * stride), keys[inside] % (stride * stride) // stride
    v_from, v_to = keys[inside] % stride, keys[inside + 1] % stride
    up = values[inside] > 0
    v_start_y, v_end_y = np.where(up, v_to, v_from), np.where(up, v_from, v_to)
    # Links (point keys: object, y, x): horizontal end -> vertical start -> horizontal start.
    h_row = h_owner * (stride * stride) + hy * stride
    h_dx, v_dy = h_end_x - h_start_x, v_end_y - v_start_y
    zeros_h, zeros_v = np.zeros_like(hy), np.zeros_like(v_dy)
    h_starts = np.stack([h_row + h_start_x, h_dx, zeros_h], 1)
    h_ends = np.stack([h_row + h_end_x, h_dx, zeros_h], 1)
    v_starts = np.stack([v_base + v_start_y * stride + v_line, zeros_v, v_dy], 1)
    v_ends = np.stack([v_base + v_end_y * stride + v_line, zeros_v, v_dy], 1)
    following = _following(v_ends, h_starts)[_following(h_ends, v_starts)]
    # Twice the signed area, edge by edge: the horizontal piece, then the vertical one to the next piece.
    twice = (h_start_x - h_end_x) * hy + h_end_x * (hy[following] - hy)
    index, sizes = _walk(following, np.bincount(h_owner).max())
    corners = np.stack([h_start_x[index], hy[index], h_end_x[index], hy[index]], 1).reshape(-1, 2)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    areas = np.add.reduceat(twice[index], starts).tolist()
    ring_owners = h_owner[index[starts]].tolist()
    for owner, ring, area in zip(ring_owners, np.split(corners, 2 * starts[1:]), areas, strict=True):
        rings[owner].append((ring, area))
    return rings


def outlines(runs: ObjectRuns, traced: list[list[tuple[np.ndarray, int]]]) -> list[list[tuple[np.ndarray, bool]]]:
    """``object_rings`` of each object as ``((n, 2) int corners, hole)`` pairs, from the objects' runs and their
    traced rings (``traced_rings(runs)``).

    An object with holes (a traced ring of negative area) is done as ``mask_rings`` does: its hole outlines are
    those of the pixels that pycocotools' raster of its outer rings fills but the mask does not, traced as regions
    of their own (every such object's together); its outer rings are the traced ones."""
    rings = [[(corners, False, twice) for corners, twice in object_rings if twice > 0] for object_rings in traced]
    holed = [number for number, object_rings in enumerate(traced) if len(rings[number]) < len(object_rings)]
    offsets, hole_masks = [], []
    for number in holed:
        crop, x0, y0 = runs.crop(number)
        offset = np.array([x0, y0])
        in_crop = [(corners - offset).astype(float).ravel().tolist() for corners, _, _ in rings[number]]
        offsets.append(offset)
        hole_masks.append(coco_polygons_to_mask(in_crop, *crop.shape) & ~crop)
    for number, offset, hole_rings in zip(holed, offsets, traced_rings(mask_runs(hole_masks)), strict=True):
        rings[number] += [(corners + offset, True, twice) for corners, twice in hole_rings if twice > 0]
    return [
        [(corners, hole) for corners, hole, _ in sorted(object_rings, key=lambda ring: -abs(ring[2]) / 2)]
        for object_rings in rings
    ]


def outer_outlines(traced: list[tuple[np.ndarray, int]]) -> list[np.ndarray]:
    """``outer_rings`` as ``(n, 2)`` int corners from the object's traced rings."""
    outers = [(corners, twice) for corners, twice in traced if twice > 0]
    return [corners for corners, _ in sorted(outers, key=lambda ring: -ring[1] / 2)]
