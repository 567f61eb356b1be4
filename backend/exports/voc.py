"""Pascal VOC segmentation: class and instance PNGs, XML boxes, image lists and a label map.

Layout (what CVAT and the VOC tools read): ``JPEGImages/`` (the uploaded files, EXIF-rotated ones turned upright),
``SegmentationClass/<stem>.png`` (palette PNG: 0 background, i = the i-th label in the project's order, painted
in the label's colour), ``SegmentationObject/<stem>.png`` (0 background, k = the k-th object of the image),
``Annotations/<stem>.xml`` (boxes), ``ImageSets/{Main,Segmentation}/default.txt`` and ``labelmap.txt``.
Class names and colours are those of backend.exports.voc_labels (unique, and readable in ``labelmap.txt``).
Where objects overlap, the later one wins, as on the canvas.
"""

import functools
from collections.abc import Iterator
from pathlib import PurePosixPath

import numpy as np

from backend.exports.contents import ExportContents
from backend.exports.masks import Job, in_worker, label_png, png_data, png_file
from backend.exports.rings import painted, painted_images
from backend.exports.rows import Batch, ImageRow, batches
from backend.exports.strips import is_large, strip_png_data
from backend.exports.voc_labels import labelmap_text, voc_classes, voc_colormap

IMAGE_SET = "default"


def _palette(colours: list[tuple[int, int, int]]) -> bytes:
    """256 palette colours (the unused ones black)."""
    return bytes([channel for colour in colours for channel in colour] + [0, 0, 0] * (256 - len(colours)))


def class_and_object_maps(contents: ExportContents, batch: Batch) -> list[tuple[np.ndarray, np.ndarray]]:
    """Class and instance indices of each image of the batch, painted from the objects' stored runs (no mask
    decoded), every image's together."""
    categories = [contents.category_of(obj.label_id) for image in batch.images for obj in image.objects]
    # Capped at the format's 8-bit limit here; images with more objects are repainted below.
    numbers = [min(number, 255) for image in batch.images for number in range(1, len(image.objects) + 1)]
    counts = [len(image.objects) for image in batch.images]
    shapes = [(image.height, image.width) for image in batch.images]
    maps = painted_images(batch.runs, counts, shapes, [categories, numbers], np.uint8)
    for index, image in enumerate(batch.images):
        if len(image.objects) > 255:  # the format's 8-bit limit: objects past the 255th are in the class map only
            instances = painted(batch.runs_of(image).first(255), range(1, 256), image.height, image.width, np.uint8)
            maps[index][1] = instances
    return [(classes, instances) for classes, instances in maps]


def _text(value: str) -> str:
    """XML character data escaped as ElementTree escapes it."""
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _element(indent: str, tag: str, text: str) -> str:
    """One leaf line as ``ElementTree.indent`` and ``tostring`` write it (an empty one self-closed)."""
    return f"{indent}<{tag}>{_text(text)}</{tag}>\n" if text else f"{indent}<{tag} />\n"


def _annotation_xml(image: ImageRow, names: dict[int, str]) -> bytes:
    """The boxes file, written as text: byte for byte what ElementTree (indented, with the declaration) wrote, at
    a fraction of the cost. ``names`` maps a label id to its VOC class name."""
    parts = [
        "<?xml version='1.0' encoding='utf-8'?>\n<annotation>\n",
        _element("  ", "folder", "JPEGImages"),
        _element("  ", "filename", image.file_name),
        f"  <size>\n    <width>{image.width}</width>\n    <height>{image.height}</height>\n"
        "    <depth>3</depth>\n  </size>\n",
        f"  <segmented>{1 if image.objects else 0}</segmented>\n",
    ]
    for obj in image.objects:
        x, y, w, h = obj.bbox
        # VOC boxes are 1-based and inclusive.
        parts.append(
            f"  <object>\n{_element('    ', 'name', names[obj.label_id])}    <truncated>0</truncated>\n"
            f"    <difficult>0</difficult>\n    <bndbox>\n      <xmin>{int(x) + 1}</xmin>\n"
            f"      <ymin>{int(y) + 1}</ymin>\n      <xmax>{int(x + w)}</xmax>\n      <ymax>{int(y + h)}</ymax>\n"
            "    </bndbox>\n  </object>\n"
        )
    parts.append("</annotation>")
    return "".join(parts).encode("utf-8", "xmlcharrefreplace")


def _image_jobs(
    contents: ExportContents, class_colours: list, instance_colours: list, names: dict[int, str]
) -> Iterator[tuple[Job, int]]:
    class_palette, instance_palette = _palette(class_colours), _palette(instance_colours)
    for batch in batches(contents):
        if any(is_large(image) for image in batch.images):
            yield from _large_image_jobs(contents, batch, class_palette, instance_palette, names)
            continue
        for image, (classes, instances) in zip(batch.images, class_and_object_maps(contents, batch), strict=True):
            files = [
                (f"SegmentationClass/{image.stem}.png", classes, class_palette),
                (f"SegmentationObject/{image.stem}.png", instances, instance_palette),
            ]
            xml = (f"Annotations/{image.stem}.xml", _annotation_xml(image, names))
            yield functools.partial(_voc_files_of_image, files, xml), 2 * image.pixels


def _large_image_jobs(
    contents: ExportContents, batch: Batch, class_palette: bytes, instance_palette: bytes, names: dict[int, str]
) -> Iterator[tuple[Job, int]]:
    """A batch holding a huge image: each image on its own, a huge one's maps painted strip by strip."""
    for image in batch.images:
        runs = batch.runs_of(image)
        shape = (image.height, image.width)
        categories = [contents.category_of(obj.label_id) for obj in image.objects]
        numbers = list(range(1, min(len(image.objects), 255) + 1))  # the format's 8-bit limit, as above
        if is_large(image):
            classes = strip_png_data(runs, categories, *shape)
            instances = strip_png_data(runs.first(255), numbers, *shape)
        else:
            classes = png_data(painted(runs, categories, *shape, np.uint8))
            instances = png_data(painted(runs.first(255), numbers, *shape, np.uint8))
        files = [
            (f"SegmentationClass/{image.stem}.png", png_file(shape, classes, class_palette)),
            (f"SegmentationObject/{image.stem}.png", png_file(shape, instances, instance_palette)),
            (f"Annotations/{image.stem}.xml", _annotation_xml(image, names)),
        ]
        yield functools.partial(lambda entries: entries, files), 0


def _voc_files_of_image(pngs: list[tuple[str, np.ndarray, bytes]], xml: tuple[str, bytes]) -> list[tuple[str, bytes]]:
    return [(path, label_png(indices, palette)) for path, indices, palette in pngs] + [xml]


def voc_files(contents: ExportContents) -> Iterator[tuple[str, bytes]]:
    """(path in the archive, bytes) of everything but the image files themselves, in one pass over the images
    (the image lists come from the file names alone)."""
    vocs = voc_classes(contents.labels)
    class_colours = [voc.colour for voc in vocs]
    instance_colours = [voc_colormap(i) for i in range(256)]
    names = {label.pk: voc.name for label, voc in zip(contents.labels, vocs[1:], strict=True)}
    yield from in_worker(_image_jobs(contents, class_colours, instance_colours, names))
    stems = "".join(f"{PurePosixPath(name).stem}\n" for name in contents.images.file_names()).encode()
    yield f"ImageSets/Main/{IMAGE_SET}.txt", stems
    yield f"ImageSets/Segmentation/{IMAGE_SET}.txt", stems
    yield "labelmap.txt", labelmap_text(vocs).encode()
