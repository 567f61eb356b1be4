"""Training data: instance-mask readers, the paper's augmentation and RITM's click sampler.

- :mod:`ml.data.instances`: :class:`InstanceImage` (an RGB image with its object masks), the common record.
- Readers, one per layout: :mod:`ml.data.coco_json` (COCO JSON via pycocotools), :mod:`ml.data.yolo_seg`
  (YOLO segmentation polygons), :mod:`ml.data.mask_folder` (``images/`` + ``masks/``, one object per image).
- :mod:`ml.data.sources`: open any of them from a config entry; object-level train/validation split.
- :mod:`ml.data.augment`: random resize 0.75–1.4, flip, pad + crop 320×480, brightness/contrast/RGB shift.
- :mod:`ml.data.points_sampler`: RITM's multi-point click sampler.
- :mod:`ml.data.click_dataset`: the torch ``Dataset`` that ties them together into training samples.
"""

from ml.data.instances import InstanceImage, ObjectRef
from ml.data.sources import DatasetSpec, open_instance_dataset

__all__ = ["DatasetSpec", "InstanceImage", "ObjectRef", "open_instance_dataset"]
