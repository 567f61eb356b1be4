"""``fetch``: get the pretrained RITM HRNet18-OCR64 (COCO+LVIS) weights from the PyPI wheel and register them.

The wheel ``paddlelabel-ml==1.0.0`` bundles EISeg's static model; it is downloaded with pip (no
dependencies) into ``<var>/cache/wheels``, the two files are extracted to ``<var>/cache/paddle``, converted
and registered as ``hrnet18-ocr64-cocolvis``. Every step is skipped when its result already exists.
"""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

from ml.paths import var_dir, wheels_dir
from ml.weights.checkpoint import sha256_of
from ml.weights.convert import convert
from ml.weights.registry import checkpoint_path, is_registered

REQUIREMENT = "paddlelabel-ml==1.0.0"
WHEEL_NAME = "paddlelabel_ml-1.0.0-py3-none-any.whl"
MEMBER_STEM = "paddlelabel_ml/model/eiseg/ckpt/static_hrnet18_ocr64_cocolvis"
MODEL_NAME = "hrnet18-ocr64-cocolvis"
ARCH = "hrnet18-ocr64"


def ensure_wheel() -> Path:
    """The wheel in the cache, downloaded with ``pip download --no-deps`` if missing."""
    wheel = wheels_dir() / WHEEL_NAME
    if wheel.is_file():
        return wheel
    wheels_dir().mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:"]
    subprocess.run([*command, "--dest", str(wheels_dir()), REQUIREMENT], check=True)
    if not wheel.is_file():
        raise FileNotFoundError(f"pip did not produce {wheel}")
    return wheel


def extract_static_model(wheel: Path) -> Path:
    """Extract the ``.pdmodel``/``.pdiparams`` pair; return the ``.pdmodel`` path."""
    target = var_dir() / "cache" / "paddle"
    model = target / f"{Path(MEMBER_STEM).name}.pdmodel"
    if model.is_file() and model.with_suffix(".pdiparams").is_file():
        return model
    target.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(wheel) as archive:
        for suffix in (".pdmodel", ".pdiparams"):
            partial = target / f"{Path(MEMBER_STEM).name}{suffix}.part"
            partial.write_bytes(archive.read(MEMBER_STEM + suffix))
            partial.replace(partial.with_suffix(""))
    return model


def fetch(force: bool = False) -> tuple[Path, bool]:
    """Ensure ``hrnet18-ocr64-cocolvis`` is registered; return (checkpoint path, whether work was done)."""
    if is_registered(MODEL_NAME) and not force:
        return checkpoint_path(MODEL_NAME), False
    wheel = ensure_wheel()
    model = extract_static_model(wheel)
    source = {
        "path": f"{WHEEL_NAME}!{MEMBER_STEM}.pdmodel",
        "format": "paddle-static",
        "sha256": sha256_of(model.with_suffix(".pdiparams")),
        "pdmodel_sha256": sha256_of(model),
        "wheel_sha256": sha256_of(wheel),
        "requirement": REQUIREMENT,
    }
    return convert(model, arch=ARCH, name=MODEL_NAME, source=source), True
