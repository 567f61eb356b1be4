"""``openvino``: the network converted once to an OpenVINO model with dynamic N, H and W, run on the CPU plugin.

Conversion traces the PyTorch module (``openvino.convert_model``), which takes tens of seconds, so the result is
kept as IR (``.xml``/``.bin``) under ``<var>/cache/openvino``, keyed by a digest of the weights, the architecture
and the converter versions; a worker that starts later only reads and compiles it (OpenVINO's own ``CACHE_DIR``
keeps the compiled blob too). A fresh conversion is checked against the PyTorch reference on a probe input of
another size than the traced one (odd, non-square, batch 2) before it is cached, so a graph that baked in a
shape never serves.

``precision="f32"`` (engine ``openvino``) keeps outputs within the fixtures' parity tolerance of the PyTorch
reference. ``"bf16"`` (engine ``openvino-bf16``, OpenVINO's own default on CPUs with AMX/AVX512-BF16) runs the
convolutions in bfloat16: several times faster, but logits move by about 1 % of their range (beyond the 1e-3
parity tolerance) and a few border pixels of the mask flip; see ``docs/results/forward_engines.md``.
``"int8"`` (engine ``openvino-int8``) runs the NNCF-quantised IR of :mod:`ml.inference.engines.int8`; its
``directory`` holds only that IR (the f32 IR it is made from stays in :func:`cache_dir`).
"""

from __future__ import annotations

import hashlib
import os
import threading
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ml.model.build import arch_spec
from ml.model.loaded import LoadedModel, PrevChannel
from ml.paths import var_dir
from ml.weights.verify import tolerance_for

EXPORT_VERSION = 1  # bump when the export (wrapper, example, traced code paths) changes
TRACE_SIZE = (160, 224)
PROBE_SIZE = (97, 131)


class ExportCheckError(RuntimeError):
    """The converted model disagrees with the PyTorch reference."""


class _TupleOutputs(nn.Module):
    """The network with its dict outputs as a tuple in a fixed order (what the converter expects)."""

    def __init__(self, network: nn.Module, outputs: tuple[str, ...]) -> None:
        super().__init__()
        self.network = network
        self.outputs = outputs

    def forward(self, image: torch.Tensor, coord_features: torch.Tensor) -> tuple[torch.Tensor, ...]:
        result = self.network(image, coord_features)
        return tuple(result[name] for name in self.outputs)


def cache_dir() -> Path:
    """``<var>/cache/openvino``: converted IR and OpenVINO's compiled-model cache."""
    return var_dir() / "cache" / "openvino"


def weights_digest(loaded: LoadedModel) -> str:
    """sha256 of the architecture, every state-dict tensor (name, dtype, shape, bytes) and the converter versions."""
    import openvino

    digest = hashlib.sha256(
        f"{loaded.arch}|ov={openvino.__version__}|torch={torch.__version__}|{EXPORT_VERSION}".encode()
    )
    for key, tensor in sorted(loaded.network.state_dict().items()):
        array = tensor.detach().cpu().contiguous().numpy()
        digest.update(f"{key}|{array.dtype}|{array.shape}".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def _inputs(batch: int, size: tuple[int, int], seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A plausible normalised image and coord features: previous map in [0, 1], one click disk of each sign."""
    rng = np.random.default_rng(seed)
    image = rng.standard_normal((batch, 3, *size)).astype(np.float32)
    features = np.zeros((batch, 3, *size), dtype=np.float32)
    features[:, 0] = rng.random((batch, *size), dtype=np.float32)
    height, width = size
    features[:, 1, height // 3 : height // 3 + 9, width // 3 : width // 3 + 9] = 1.0
    features[:, 2, 2 * height // 3 : 2 * height // 3 + 9, 2 * width // 3 : 2 * width // 3 + 9] = 1.0
    return image, features


def convert(loaded: LoadedModel):  # noqa: ANN201 (openvino.Model; openvino is imported lazily)
    """Trace the network into an ``openvino.Model`` with inputs ``image``/``coord_features`` of shape (-1, 3, -1, -1)."""
    import openvino

    wrapper = _TupleOutputs(loaded.network.eval(), arch_spec(loaded.arch).outputs).eval()
    example = tuple(torch.from_numpy(array) for array in _inputs(1, TRACE_SIZE, seed=0))
    dynamic = openvino.PartialShape([-1, 3, -1, -1])
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore", torch.jit.TracerWarning)  # shape-dependent branches are checked below
        model = openvino.convert_model(wrapper, example_input=example, input=[dynamic, dynamic])
    for port, name in zip(model.inputs, ("image", "coord_features"), strict=True):
        port.get_tensor().set_names({name})
    for port, name in zip(model.outputs, arch_spec(loaded.arch).outputs, strict=True):
        port.get_tensor().set_names({name})
    return model


def ir_path(loaded: LoadedModel, directory: Path | None = None) -> Path:
    """Where the converted IR of ``loaded`` is cached: ``<dir>/<model name>-<weights digest>.xml`` (+ ``.bin``)."""
    return (directory or cache_dir()) / f"{loaded.name}-{weights_digest(loaded)[:16]}.xml"


def load_or_convert(loaded: LoadedModel, directory: Path | None = None):  # noqa: ANN201
    """The cached IR of ``loaded`` (read), or a fresh, checked conversion (then cached). Returns (model, path)."""
    import openvino

    directory = directory or cache_dir()
    xml = ir_path(loaded, directory)
    core = openvino.Core()
    if xml.is_file() and xml.with_suffix(".bin").is_file():
        return core.read_model(xml), xml
    model = convert(loaded)
    check_against_torch(loaded, core.compile_model(model, "CPU", _config(None)))
    save_ir(model, xml)
    return model, xml


def save_ir(model, xml: Path) -> None:  # noqa: ANN001 (openvino.Model; imported lazily)
    """Write ``model`` as ``xml`` + ``.bin`` so that a reader never sees half a pair: under temporary names first,
    the ``.xml`` renamed into place last (its presence means the pair is complete)."""
    import openvino

    xml.parent.mkdir(parents=True, exist_ok=True)
    partial = xml.with_name(f".{xml.stem}.{os.getpid()}.xml")
    openvino.save_model(model, partial, compress_to_fp16=False)
    partial.with_suffix(".bin").replace(xml.with_suffix(".bin"))
    partial.replace(xml)


def check_against_torch(loaded: LoadedModel, compiled, size: tuple[int, int] = PROBE_SIZE) -> None:  # noqa: ANN001
    """Raise :class:`ExportCheckError` when ``compiled`` and PyTorch differ beyond the parity tolerance."""
    image, features = _inputs(2, size, seed=1)
    with torch.inference_mode():
        expected = loaded.network.eval()(torch.from_numpy(image), torch.from_numpy(features))
    result = compiled([image, features])
    for index, name in enumerate(arch_spec(loaded.arch).outputs):
        reference = expected[name].numpy()
        difference = float(np.abs(result[index] - reference).max())
        if not difference <= tolerance_for(reference):
            raise ExportCheckError(
                f"{loaded.name}: OpenVINO {name} differs from PyTorch by {difference:.3e} "
                f"(tolerance {tolerance_for(reference):.3e}) at {size}"
            )


PRECISIONS = ("f32", "bf16", "int8")


def _config(threads: int | None, cache: Path | None = None, precision: str = "f32") -> dict[str, object]:
    config: dict[str, object] = {"PERFORMANCE_HINT": "LATENCY", "INFERENCE_PRECISION_HINT": precision}
    if threads is not None:
        config["INFERENCE_NUM_THREADS"] = threads
    if cache is not None:
        config["CACHE_DIR"] = str(cache)
    return config


class OpenVINOEngine:
    """Runs a :class:`LoadedModel` converted to OpenVINO (see the module docstring); one request at a time."""

    def __init__(
        self, loaded: LoadedModel, threads: int | None = None, precision: str = "f32", directory: Path | None = None
    ) -> None:
        import openvino

        if precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, not {precision!r}")
        core = openvino.Core()
        if precision == "bf16" and "BF16" not in core.get_property("CPU", "OPTIMIZATION_CAPABILITIES"):
            raise RuntimeError("this CPU has no native bfloat16 support")
        self.engine_name = "openvino" if precision == "f32" else f"openvino-{precision}"
        self.precision = precision
        self.name = loaded.name
        self.mean = tuple(float(v) for v in loaded.mean)
        self.std = tuple(float(v) for v in loaded.std)
        self.prev_channel: PrevChannel = loaded.prev_channel
        self.outputs = arch_spec(loaded.arch).outputs
        directory = directory or cache_dir()
        if precision == "int8":
            from ml.inference.engines.int8 import load_or_quantize

            model, self.ir_path = load_or_quantize(loaded, directory, threads)
        else:
            model, self.ir_path = load_or_convert(loaded, directory)
        hint = "f32" if precision == "int8" else precision  # int8 comes from the IR; the rest of it runs in f32
        self._compiled = core.compile_model(model, "CPU", _config(threads, directory / "compiled", hint))
        self._request = self._compiled.create_infer_request()
        self._lock = threading.Lock()  # an infer request serves one call at a time

    def __call__(self, image: np.ndarray, coord_features: np.ndarray) -> dict[str, np.ndarray]:
        feeds = [np.ascontiguousarray(image, dtype=np.float32), np.ascontiguousarray(coord_features, dtype=np.float32)]
        with self._lock:
            result = self._request.infer(feeds)
            return {name: np.array(result[index]) for index, name in enumerate(self.outputs)}
