"""Pascal VOC segmentation: class and instance PNGs, XML boxes, image lists and a label map.

Layout (what CVAT and the VOC tools read): ``JPEGImages/`` (the uploaded files as they are),
``SegmentationClass/<stem>.png`` (palette PNG: 0 background, i = the i-th label in the project's order, painted
in the label's colour), ``SegmentationObject/<stem>.png`` (0 background, k = the k-th object of the image),
``Annotations/<stem>.xml`` (boxes), ``ImageSets/{Main,Segmentation}/default.txt`` and ``labelmap.txt``.
Where objects overlap, the later one wins, as on the canvas.
"""

import io
from collections.abc import Iterator
from xml.etree import ElementTree

import numpy as np
from PIL import Image as PILImage

from backend.exports.contents import ExportContents, ExportedImage
from ml.postprocess import rle_to_mask

IMAGE_SET = "default"


def _hex_to_rgb(colour: str) -> tuple[int, int, int]:
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


def _voc_colormap(index: int) -> tuple[int, int, int]:
    """The standard VOC palette entry (bit-interleaved), used for instance ids."""
    r = g = b = 0
    for shift in range(7, -1, -1):
        r |= ((index >> 0) & 1) << shift
        g |= ((index >> 1) & 1) << shift
        b |= ((index >> 2) & 1) << shift
        index >>= 3
    return r, g, b


def _palette_png(indices: np.ndarray, colours: list[tuple[int, int, int]]) -> bytes:
    palette = [channel for colour in colours for channel in colour]
    image = PILImage.fromarray(indices, mode="P")
    image.putpalette(palette + [0, 0, 0] * (256 - len(colours)))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def class_and_object_maps(contents: ExportContents, exported: ExportedImage) -> tuple[np.ndarray, np.ndarray]:
    height, width = exported.image.height, exported.image.width
    classes = np.zeros((height, width), np.uint8)
    instances = np.zeros((height, width), np.uint8)
    for number, obj in enumerate(exported.objects, start=1):
        mask = rle_to_mask(obj.mask_rle).astype(bool)
        classes[mask] = contents.category_of(obj.label_id)
        if number <= 255:  # the format's 8-bit limit; the class map still has every object
            instances[mask] = number
    return classes, instances


def _annotation_xml(contents: ExportContents, exported: ExportedImage) -> bytes:
    root = ElementTree.Element("annotation")
    ElementTree.SubElement(root, "folder").text = "JPEGImages"
    ElementTree.SubElement(root, "filename").text = exported.file_name
    size = ElementTree.SubElement(root, "size")
    ElementTree.SubElement(size, "width").text = str(exported.image.width)
    ElementTree.SubElement(size, "height").text = str(exported.image.height)
    ElementTree.SubElement(size, "depth").text = "3"
    ElementTree.SubElement(root, "segmented").text = "1" if exported.objects else "0"
    names = {label.pk: label.name for label in contents.labels}
    for obj in exported.objects:
        x, y, w, h = obj.bbox
        element = ElementTree.SubElement(root, "object")
        ElementTree.SubElement(element, "name").text = names[obj.label_id]
        ElementTree.SubElement(element, "truncated").text = "0"
        ElementTree.SubElement(element, "difficult").text = "0"
        box = ElementTree.SubElement(element, "bndbox")
        # VOC boxes are 1-based and inclusive.
        ElementTree.SubElement(box, "xmin").text = str(int(x) + 1)
        ElementTree.SubElement(box, "ymin").text = str(int(y) + 1)
        ElementTree.SubElement(box, "xmax").text = str(int(x + w))
        ElementTree.SubElement(box, "ymax").text = str(int(y + h))
    ElementTree.indent(root)
    return ElementTree.tostring(root, encoding="utf-8", xml_declaration=True)


def labelmap(contents: ExportContents) -> str:
    """CVAT's ``labelmap.txt``: ``name:r,g,b:parts:actions`` per class index, background first."""
    lines = ["# label:color_rgb:parts:actions", "background:0,0,0::"]
    lines += [f"{label.name}:{','.join(map(str, _hex_to_rgb(label.color)))}::" for label in contents.labels]
    return "\n".join(lines) + "\n"


def voc_files(contents: ExportContents) -> Iterator[tuple[str, bytes]]:
    """(path in the archive, bytes) of everything but the image files themselves."""
    class_colours = [(0, 0, 0)] + [_hex_to_rgb(label.color) for label in contents.labels]
    instance_colours = [_voc_colormap(i) for i in range(256)]
    for exported in contents.images:
        classes, instances = class_and_object_maps(contents, exported)
        yield f"SegmentationClass/{exported.stem}.png", _palette_png(classes, class_colours)
        yield f"SegmentationObject/{exported.stem}.png", _palette_png(instances, instance_colours)
        yield f"Annotations/{exported.stem}.xml", _annotation_xml(contents, exported)
    stems = "".join(f"{exported.stem}\n" for exported in contents.images).encode()
    yield f"ImageSets/Main/{IMAGE_SET}.txt", stems
    yield f"ImageSets/Segmentation/{IMAGE_SET}.txt", stems
    yield "labelmap.txt", labelmap(contents).encode()
