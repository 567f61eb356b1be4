"""``openvino-int8``: the f32 OpenVINO model quantised to INT8 by NNCF post-training quantisation.

Calibration feeds what the app feeds: the f32 engine runs RITM's evaluation protocol (the deepest-error clicker,
zoom-in crops, the previous mask) over evenly spaced *training* images (``<shared>/data/train/ecssd``, never the
GrabCut/Berkeley benchmark), and every network input of those sessions is recorded. The quantised IR is cached
beside the f32 one (``<var>/cache/openvino/<model>-<digest>-int8.xml``; the digest covers the f32 weights digest,
the NNCF version and :data:`QUANT_VERSION`), built by ``python -m ml.inference.engines prepare`` (``make weights``).

Calibration needs the training images, which only the build machine has (the app never reads ``<shared>``):
without a cached IR and without them the engine cannot be built (:class:`CalibrationUnavailable`) and
``create_engine`` falls back as for any engine that fails. Whether the int8 engine may serve is decided by its
NoC guard (``ml.inference.engines.guard``), not by logit parity: int8 logits are not within the 1e-3 tolerance.

On CPUs without VNNI (AVX2 only, e.g. AMD Zen 3) the u8×s8 multiply-add saturates 16-bit sums;
NNCF's overflow fix (weights in 7 bits) for every layer avoids it at no speed cost.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ml.inference.engines.base import Engine
from ml.model.loaded import LoadedModel, PrevChannel
from ml.paths import shared_dir

logger = logging.getLogger(__name__)

QUANT_VERSION = 3  # bump when calibration or quantisation settings change (new cache key)
STEM_LAYERS = 3
WEIGHTED_OPS = ("Convolution", "GroupConvolution", "MatMul")
CALIBRATION_SET = Path("data") / "train" / "ecssd"
MIN_MASK_IOU = 0.9  # a fresh IR whose masks disagree more with f32 on its own calibration inputs is not cached

Inputs = tuple[np.ndarray, np.ndarray]


class CalibrationUnavailable(RuntimeError):
    """No cached int8 IR and no training images to calibrate a new one."""


@dataclass(frozen=True)
class Calibration:
    """Which training samples calibrate, and how many simulated clicks each gets."""

    images: int = 40
    clicks: int = 3


def calibration_dir() -> Path:
    """The training images (with masks) that calibrate: ``<shared>/data/train/ecssd``."""
    return shared_dir() / CALIBRATION_SET


def int8_ir_path(loaded: LoadedModel, directory: Path) -> Path:
    """``<directory>/<model>-<digest>-int8.xml``: keyed by the f32 weights digest, NNCF and :data:`QUANT_VERSION`."""
    from ml.inference.engines.openvino import weights_digest

    nncf_version = importlib.metadata.version("nncf")
    key = f"{weights_digest(loaded)}|int8|nncf={nncf_version}|{QUANT_VERSION}"
    return directory / f"{loaded.name}-{hashlib.sha256(key.encode()).hexdigest()[:16]}-int8.xml"


class RecordingEngine:
    """Runs ``engine`` and keeps a copy of every input pair (the calibration data)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.name = engine.name
        self.mean = engine.mean
        self.std = engine.std
        self.prev_channel: PrevChannel = engine.prev_channel
        self.inputs: list[Inputs] = []

    def __call__(self, image: np.ndarray, coord_features: np.ndarray) -> dict[str, np.ndarray]:
        self.inputs.append((np.array(image, dtype=np.float32), np.array(coord_features, dtype=np.float32)))
        return self.engine(image, coord_features)


def record_calibration(engine: Engine, calibration: Calibration, root: Path | None = None) -> list[Inputs]:
    """Network inputs of RITM evaluation sessions (``calibration.clicks`` clicks each) on evenly spaced training
    samples, run by ``engine`` (the f32 one, so the previous masks are the reference's)."""
    from ml.evaluation.folder import FolderDataset
    from ml.evaluation.runner import evaluate_sample
    from ml.inference import ClickSession

    root = root or calibration_dir()
    if not root.is_dir():
        raise CalibrationUnavailable(f"no calibration images at {root} (training data; see ../shared/README.md)")
    dataset = FolderDataset(root)
    recorder = RecordingEngine(engine)
    session = ClickSession(recorder)
    count = min(calibration.images, len(dataset))
    for index in np.linspace(0, len(dataset) - 1, count).round().astype(int):
        evaluate_sample(session, dataset[int(index)], max_clicks=calibration.clicks)
    return recorder.inputs


def f32_layers(model) -> list[str]:  # noqa: ANN001 (openvino.Model)
    """Names of the weighted layers left in f32: the stem (the first :data:`STEM_LAYERS`: the image's first
    convolution, the click maps' transform and the convolution that takes both) and the heads after the backbone
    (from the auxiliary head's first convolution on: OCR, and EdgeFlow's edge and refinement layers).

    Quantised, these moved NoC: with every layer in int8, GrabCut NoC@85/90 went from 1.50/1.68 to 1.80/1.94;
    with these in f32 (and the full bias correction) it is 1.52/1.70. They are a few percent of the FLOPs."""
    weighted = [op for op in model.get_ordered_ops() if op.get_type_name() in WEIGHTED_OPS]
    aux = next((i for i, op in enumerate(weighted) if "aux_head" in op.get_friendly_name()), len(weighted))
    # The auxiliary head's first convolution was merged with its batch norm (named after the merge): the layer
    # just before its last one, the first named "aux_head".
    heads = weighted[max(aux - 1, STEM_LAYERS) :]
    return [op.get_friendly_name() for op in weighted[:STEM_LAYERS] + heads]


def quantize(model, inputs: list[Inputs]):  # noqa: ANN001, ANN201 (openvino.Model in and out; imported lazily)
    """NNCF post-training quantisation of ``model`` (f32 ``openvino.Model``) calibrated on ``inputs``, the
    :func:`f32_layers` left out, biases corrected layer by layer."""
    import nncf
    from nncf.quantization.advanced_parameters import AdvancedQuantizationParameters, OverflowFix

    return nncf.quantize(
        model,
        nncf.Dataset(inputs, list),
        subset_size=len(inputs),
        ignored_scope=nncf.IgnoredScope(names=f32_layers(model)),
        fast_bias_correction=False,  # slower to build (~12 min here), but the fast one moved Berkeley NoC@90 by 0.14
        advanced_parameters=AdvancedQuantizationParameters(overflow_fix=OverflowFix.ENABLE),
    )


def mask_iou(first: np.ndarray, second: np.ndarray) -> float:
    """IoU of the two logit maps' foregrounds (logit > 0); 1.0 when both are empty."""
    a, b = first > 0, second > 0
    union = int(np.count_nonzero(a | b))
    return 1.0 if union == 0 else int(np.count_nonzero(a & b)) / union


def check_masks(reference: Engine, compiled, inputs: list[Inputs], output: int = 0) -> float:  # noqa: ANN001
    """Mean mask IoU of ``compiled`` against ``reference`` on ``inputs`` (first output, ``instances``)."""
    name = getattr(reference, "outputs", ("instances",))[output]
    ious = [mask_iou(np.asarray(compiled(list(pair))[output]), reference(*pair)[name]) for pair in inputs]
    return float(np.mean(ious))


def load_or_quantize(
    loaded: LoadedModel,
    directory: Path,
    threads: int | None = None,
    calibration: Calibration | None = None,
    calibration_root: Path | None = None,
):  # noqa: ANN201 (openvino.Model, Path)
    """The cached int8 IR of ``loaded`` (read), or a fresh quantisation (then cached). Returns (model, path).

    A fresh IR is checked on a sample of its calibration inputs: masks must agree with f32 (mean IoU ≥
    :data:`MIN_MASK_IOU`), a coarse check that catches a broken quantisation before the NoC guard runs.
    """
    import openvino

    from ml.inference.engines.openvino import ExportCheckError, OpenVINOEngine, save_ir
    from ml.inference.engines.openvino import _config as openvino_config

    xml = int8_ir_path(loaded, directory)
    core = openvino.Core()
    if xml.is_file() and xml.with_suffix(".bin").is_file():
        return core.read_model(xml), xml
    reference = OpenVINOEngine(loaded, threads)
    inputs = record_calibration(reference, calibration or Calibration(), calibration_root)
    logger.info("quantising %s on %d calibration inputs", loaded.name, len(inputs))
    model = quantize(core.read_model(reference.ir_path), inputs)
    compiled = core.compile_model(model, "CPU", openvino_config(threads))  # as served: the rest in f32
    agreement = check_masks(reference, compiled, inputs[:: max(1, len(inputs) // 12)])
    if agreement < MIN_MASK_IOU:
        raise ExportCheckError(f"{loaded.name}: int8 masks agree with f32 at IoU {agreement:.3f} < {MIN_MASK_IOU}")
    save_ir(model, xml)
    return model, xml
