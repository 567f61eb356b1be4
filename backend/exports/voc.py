"""Pascal VOC segmentation: class and instance PNGs, XML boxes, image lists and a label map.

Layout (what CVAT and the VOC tools read): ``JPEGImages/`` (the uploaded files, EXIF-rotated ones turned upright),
``SegmentationClass/<stem>.png`` (palette PNG: 0 background, i = the i-th label in the project's order, painted
in the label's colour), ``SegmentationObject/<stem>.png`` (0 background, k = the k-th object of the image),
``Annotations/<stem>.xml`` (boxes), ``ImageSets/{Main,Segmentation}/default.txt`` and ``labelmap.txt``.
Class names and colours are those of backend.exports.voc_labels (unique, and readable in ``labelmap.txt``).
Where objects overlap, the later one wins, as on the canvas.
"""

import io
from collections.abc import Iterator
from xml.etree import ElementTree

import numpy as np
from PIL import Image as PILImage

from backend.exports.contents import ExportContents, ExportedImage
from backend.exports.voc_labels import VocClass, labelmap_text, voc_classes, voc_colormap
from ml.postprocess import rle_to_mask

IMAGE_SET = "default"


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


def _annotation_xml(contents: ExportContents, exported: ExportedImage, vocs: list[VocClass]) -> bytes:
    root = ElementTree.Element("annotation")
    ElementTree.SubElement(root, "folder").text = "JPEGImages"
    ElementTree.SubElement(root, "filename").text = exported.file_name
    size = ElementTree.SubElement(root, "size")
    ElementTree.SubElement(size, "width").text = str(exported.image.width)
    ElementTree.SubElement(size, "height").text = str(exported.image.height)
    ElementTree.SubElement(size, "depth").text = "3"
    ElementTree.SubElement(root, "segmented").text = "1" if exported.objects else "0"
    names = {label.pk: voc.name for label, voc in zip(contents.labels, vocs[1:], strict=True)}
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


def voc_files(contents: ExportContents) -> Iterator[tuple[str, bytes]]:
    """(path in the archive, bytes) of everything but the image files themselves."""
    vocs = voc_classes(contents.labels)
    class_colours = [voc.colour for voc in vocs]
    instance_colours = [voc_colormap(i) for i in range(256)]
    for exported in contents.images:
        classes, instances = class_and_object_maps(contents, exported)
        yield f"SegmentationClass/{exported.stem}.png", _palette_png(classes, class_colours)
        yield f"SegmentationObject/{exported.stem}.png", _palette_png(instances, instance_colours)
        yield f"Annotations/{exported.stem}.xml", _annotation_xml(contents, exported, vocs)
    stems = "".join(f"{exported.stem}\n" for exported in contents.images).encode()
    yield f"ImageSets/Main/{IMAGE_SET}.txt", stems
    yield f"ImageSets/Segmentation/{IMAGE_SET}.txt", stems
    yield "labelmap.txt", labelmap_text(vocs).encode()
