"""The Pascal VOC label map of an export: a class name and a colour per label that VOC readers read back.

CVAT's ``labelmap.txt`` (read by CVAT and Datumaro) has one ``name:r,g,b:parts:actions`` line per class, with
no escaping: a name may not contain ``:`` or a line break, nor start with ``#`` (a comment), and leading or
trailing spaces are lost. Class 0 is the implicit ``background`` in black. Readers map the class PNGs' colours
back to classes, so every class needs its own colour. Hence, in the export only (the project is unchanged):

- a name's ``:`` and line breaks become ``_``, a leading ``#`` becomes ``_#``, surrounding spaces are dropped;
- a name that would repeat another (``background`` included) gets the first free suffix ``_1``, ``_2``, …;
- a label whose colour is black or already taken (the app's palette has twelve colours) gets the first free
  colour of the standard VOC colormap.
"""

import re
from collections.abc import Sequence
from dataclasses import dataclass

from backend.projects.models import LabelClass

BACKGROUND = "background"
BACKGROUND_COLOUR = (0, 0, 0)
_BREAKING = re.compile(r"[:\r\n]")

Colour = tuple[int, int, int]


@dataclass(frozen=True)
class VocClass:
    name: str
    colour: Colour


def hex_to_rgb(colour: str) -> Colour:
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


def voc_colormap(index: int) -> Colour:
    """The standard VOC colormap entry (bit-interleaved); distinct for every index below 2**24."""
    r = g = b = 0
    for shift in range(7, -1, -1):
        r |= ((index >> 0) & 1) << shift
        g |= ((index >> 1) & 1) << shift
        b |= ((index >> 2) & 1) << shift
        index >>= 3
    return r, g, b


def _readable_name(name: str) -> str:
    name = _BREAKING.sub("_", name).strip()
    if name.startswith("#"):
        name = "_" + name
    return name or "label"


def _unique_names(names: list[str]) -> list[str]:
    """Names kept where free; a repeat (or ``background``) suffixed with the first free ``_k``."""
    taken = {BACKGROUND}
    keep = []
    for name in names:
        keep.append(name not in taken)
        taken.add(name)
    result = []
    for name, kept in zip(names, keep, strict=True):
        if not kept:
            suffix = 1
            while f"{name}_{suffix}" in taken:
                suffix += 1
            name = f"{name}_{suffix}"
            taken.add(name)
        result.append(name)
    return result


def _unique_colours(colours: list[Colour]) -> list[Colour]:
    """Each label's own colour where it is not black and not taken by an earlier label; else a free VOC colour."""
    used = {BACKGROUND_COLOUR}
    wanted = set(colours)
    result: list[Colour | None] = []
    for colour in colours:
        result.append(None if colour in used else colour)
        used.add(colour)
    spare = (voc_colormap(index) for index in range(1, 1 << 24))
    free = (colour for colour in spare if colour not in wanted)
    return [colour if colour is not None else next(free) for colour in result]


def voc_classes(labels: Sequence[LabelClass]) -> list[VocClass]:
    """Class 0 (background), then one class per label in the project's order."""
    names = _unique_names([_readable_name(label.name) for label in labels])
    colours = _unique_colours([hex_to_rgb(label.color) for label in labels])
    return [VocClass(BACKGROUND, BACKGROUND_COLOUR)] + [
        VocClass(name, colour) for name, colour in zip(names, colours, strict=True)
    ]


def labelmap_text(classes: Sequence[VocClass]) -> str:
    """CVAT's ``labelmap.txt``: ``name:r,g,b:parts:actions`` per class index, background first."""
    lines = ["# label:color_rgb:parts:actions"]
    lines += [f"{voc.name}:{','.join(map(str, voc.colour))}::" for voc in classes]
    return "\n".join(lines) + "\n"
