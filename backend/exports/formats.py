"""The export formats: what each writes into its archive besides the image files, and where the images go.

``Format.files(contents)`` yields every archive entry except the image files, one at a time, as
``(path, bytes)`` or ``(path, iterator of byte chunks)`` (streamed into the zip entry; COCO's JSON is written so).
The archive writer (``backend.exports.archive``) copies the image files into ``images_folder`` (always writing the
folder, empty or not) unless the export leaves the images out. ``FORMATS`` holds every format by its name, in the
order the page offers them.
"""

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from django.db.models import QuerySet

from backend.exports import coco, geo, labelme, masks, nifti_labels, voc, yolo
from backend.exports.contents import ExportContents, Progress, export_contents
from backend.images.models import Image
from backend.projects.models import Project

Entry = tuple[str, bytes | Iterator[bytes]]


@dataclass(frozen=True)
class Format:
    name: str
    images_folder: str | None  # None: the format ships no image files
    files: Callable[[ExportContents], Iterator[Entry]]
    title: str = ""  # what the page calls it; the name when empty
    passes: int = 1  # how many times ``files`` reads the images (for the progress shown)
    source_images: bool = False  # ship sources (GeoTIFF…) as stored, not as their 8-bit rendering
    per_slice: bool = True  # a stack is written slice by slice (2-D formats); False: as one volume

    @property
    def label(self) -> str:
        return self.title or self.name


FORMATS: dict[str, Format] = {
    "coco": Format("coco", coco.IMAGES_DIR, coco.coco_files, "COCO instances (JSON)", passes=2),
    "voc": Format("voc", "JPEGImages", voc.voc_files, "Pascal VOC segmentation"),
    "masks": Format("masks", masks.IMAGES_DIR, masks.mask_files, "Label masks and pseudo colour (PNG)"),
    "labelme": Format("labelme", labelme.IMAGES_DIR, labelme.labelme_files, "LabelMe (JSON)"),
    "yolo": Format("yolo", yolo.IMAGES_DIR, yolo.yolo_files, "YOLO segmentation"),
    "geotiff": Format(
        "geotiff", geo.IMAGES_DIR, geo.geo_files, "GeoTIFF masks and GeoJSON (georeferenced)", source_images=True
    ),
    "nifti": Format(
        "nifti",
        nifti_labels.IMAGES_DIR,
        nifti_labels.nifti_label_files,
        "NIfTI label volumes (medical stacks)",
        source_images=True,
        per_slice=False,
    ),
}


def get_format(name: str) -> Format | None:
    return FORMATS.get(name)


def contents_for(
    fmt: Format, *, project: Project, images: QuerySet[Image], progress: Progress | None = None
) -> ExportContents:
    """What ``fmt`` exports of ``images``: stacks slice by slice or whole, sources rendered or as stored."""
    return export_contents(
        project=project, images=images, progress=progress, per_slice=fmt.per_slice, source_files=fmt.source_images
    )
