"""Network structure: names/shapes match the official Paddle network, forward contract, porting details."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from ml.model import ARCHITECTURES, build_network
from ml.model.flow_align import flow_warp
from ml.model.fuse import fuse_conv_bn
from ml.model.layers import SameConv2d, resize, same_padding
from ml.paths import REPO_DIR, shared_dir
from ml.weights.names import UNTRACKED_SUFFIX, paddle_to_torch


def _reference_names() -> dict[str, list[int]]:
    path = shared_dir() / "docs" / "edgeflow-state-dict.txt"
    if not path.is_file():
        pytest.fail(f"{path} not found")
    names = {}
    for line in path.read_text().splitlines():
        name, shape = line.split("\t")
        names[paddle_to_torch(name)] = [int(d) for d in shape.strip("[]").split(",")]
    return names


def _shapes(arch: str) -> dict[str, list[int]]:
    state = build_network(arch).state_dict()
    return {k: list(v.shape) for k, v in state.items() if not k.endswith(UNTRACKED_SUFFIX)}


def test_edgeflow_names_and_shapes_equal_the_official_state_dict() -> None:
    assert _shapes("edgeflow") == _reference_names()


def test_hrnet18_is_edgeflow_without_its_additions() -> None:
    shapes = _shapes("hrnet18-ocr64")
    reference = _reference_names()
    assert len(shapes) == 1581
    assert sum(torch.Size(s).numel() for s in shapes.values()) == 10_067_903
    assert all(reference[name] == shape for name, shape in shapes.items())
    added = set(reference) - set(shapes)
    assert all(n.startswith(("finenet.", "feature_extractor.warp", "feature_extractor.edge")) for n in added), sorted(
        added
    )[:5]


@pytest.mark.parametrize("arch", sorted(ARCHITECTURES))
def test_forward_contract(arch: str) -> None:
    torch.manual_seed(0)
    net = build_network(arch).eval()
    image, coords = torch.randn(2, 3, 72, 104), torch.zeros(2, 3, 72, 104)
    coords[:, 1, 30:35, 40:45] = 1.0
    with torch.inference_mode():
        outputs = net(image, coords)
        single = net(image[1:], coords[1:])
    assert tuple(outputs) == ARCHITECTURES[arch].outputs
    for name, logits in outputs.items():
        assert logits.shape == (2, 1, 72, 104) and logits.dtype == torch.float32
        torch.testing.assert_close(logits[1:], single[name], rtol=1e-4, atol=1e-4)


def test_unknown_architecture_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown architecture"):
        build_network("hrnet99")


def test_tf_same_padding_puts_the_extra_pixel_last() -> None:
    assert same_padding(100, 3, 2) == (0, 1)
    assert same_padding(75, 3, 2) == (1, 1)
    assert same_padding(50, 3, 1) == (1, 1)
    conv = SameConv2d(4, 4, 3, stride=2, groups=4)
    x = torch.randn(1, 4, 10, 12)
    expected = F.conv2d(F.pad(x, (0, 1, 0, 1)), conv.weight, conv.bias, stride=2, groups=4)
    torch.testing.assert_close(conv(x), expected)


def test_flow_warp_with_zero_flow_is_identity() -> None:
    x = torch.randn(1, 5, 9, 13)
    torch.testing.assert_close(flow_warp(x, torch.zeros(1, 2, 9, 13)), x, rtol=0, atol=1e-5)


def test_flow_warp_flow_is_in_units_of_the_feature_size() -> None:
    """A flow of (W, 0) moves the grid by 1.0 in normalised x, i.e. (W - 1) / 2 pixels."""
    x = torch.arange(9.0).repeat(3, 1)[None, None]  # 1×1×3×9, value = column index
    flow = torch.zeros(1, 2, 3, 9)
    flow[:, 0] = 9.0
    warped = flow_warp(x, flow)
    torch.testing.assert_close(warped[0, 0, 1, :5], torch.arange(4.0, 9.0))


def test_same_size_resize_with_align_corners_is_a_no_op() -> None:
    x = torch.randn(1, 2, 7, 7)
    assert resize(x, (7, 7), align_corners=True) is x
    torch.testing.assert_close(F.interpolate(x, size=(7, 7), mode="bilinear", align_corners=True), x)


def test_ml_packages_do_not_import_django() -> None:
    code = "import sys, ml.model, ml.weights, ml.weights.__main__; assert 'django' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], cwd=Path(REPO_DIR), check=True, timeout=300)


@pytest.mark.parametrize("arch", sorted(ARCHITECTURES))
def test_folding_batch_norm_keeps_outputs(arch: str) -> None:
    torch.manual_seed(1)
    net = build_network(arch).eval()
    with torch.no_grad():
        for module in net.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.running_mean.uniform_(-0.5, 0.5)
                module.running_var.uniform_(0.5, 2.0)
                module.weight.uniform_(0.5, 1.5)
                module.bias.uniform_(-0.5, 0.5)
    fused = fuse_conv_bn(net)
    left = sum(isinstance(m, torch.nn.BatchNorm2d) for m in fused.modules())
    assert left == (7 if arch == "edgeflow" else 0)  # FineNet's PReLU→BN pairs and the unused bn2 stay
    image, coords = torch.randn(1, 3, 64, 96), torch.zeros(1, 3, 64, 96)
    with torch.inference_mode():
        expected, got = net(image, coords), fused(image, coords)
    for name in expected:
        torch.testing.assert_close(got[name], expected[name], rtol=1e-3, atol=1e-3)


def test_importing_ml_defaults_openmp_to_passive_waiting() -> None:
    code = "import os, ml, torch; print(os.environ['OMP_WAIT_POLICY'])"
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO_DIR, env=env, capture_output=True, text=True)
    assert out.stdout.strip() == "PASSIVE", out.stderr


@pytest.mark.parametrize("arch", sorted(ARCHITECTURES))
def test_train_mode_backward_works_with_in_place_ops(arch: str) -> None:
    net = build_network(arch).train()
    outputs = net(torch.randn(2, 3, 64, 64), torch.zeros(2, 3, 64, 64))
    sum(o.mean() for o in outputs.values()).backward()
    grad = net.feature_extractor.conv1.weight.grad
    assert grad is not None and torch.isfinite(grad).all() and grad.abs().sum() > 0
