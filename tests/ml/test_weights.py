"""Weight formats: protobuf/static parsing, name mapping, pdparams safety, checkpoints, registry, errors, CLI."""

from __future__ import annotations

import pickle
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import torch

from ml.model import build_network
from ml.model.loaded import LoadedModel
from ml.paths import REPO_DIR
from ml.weights import WeightsError, WeightsMismatchError, load_model, registered_models
from ml.weights.checkpoint import read_checkpoint, sha256_of
from ml.weights.convert import convert
from ml.weights.fetch import MEMBER_STEM, WHEEL_NAME
from ml.weights.names import paddle_to_torch, torch_to_paddle
from ml.weights.paddle_dynamic import NAME_TABLE_KEY, read_pdparams
from ml.weights.paddle_static import StaticFormatError, read_params, read_program, read_static_model
from ml.weights.protobuf import parse_message, varints
from ml.weights.static_mapping import map_static_model

UNUSED_FINENET = [
    "finenet.final_predict.0.conv2.weight",
    "finenet.final_predict.0.bn2.weight",
    "finenet.final_predict.0.bn2.bias",
    "finenet.final_predict.0.bn2.running_mean",
    "finenet.final_predict.0.bn2.running_var",
]


@pytest.fixture(scope="module")
def wheel_model_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The static HRNet18 files, extracted from the cached wheel (present after ``fetch``)."""
    import zipfile

    from ml.paths import wheels_dir

    wheel = wheels_dir() / WHEEL_NAME
    if not wheel.is_file():
        pytest.fail("the paddlelabel-ml wheel is not cached; run `python -m ml.weights fetch`")
    target = tmp_path_factory.mktemp("wheel")
    with zipfile.ZipFile(wheel) as archive:
        for suffix in (".pdmodel", ".pdiparams"):
            (target / f"m{suffix}").write_bytes(archive.read(MEMBER_STEM + suffix))
    return target / "m.pdmodel"


def _state(model: LoadedModel) -> dict[str, torch.Tensor]:
    return model.network.state_dict()


def test_varints_decode_negative_and_packed_values() -> None:
    # field 1 = -1 as int64 varint, field 2 = packed [1, 300]
    message = bytes([0x08]) + b"\xff" * 9 + b"\x01" + bytes([0x12, 0x03, 0x01, 0xAC, 0x02])
    fields = parse_message(message)
    assert varints(fields[1]) == [-1]
    assert varints(fields[2]) == [1, 300]


def test_static_parser_reads_every_byte_of_the_wheel_model(wheel_model_path: Path) -> None:
    model = read_static_model(wheel_model_path)
    assert len(model.tensors) == 1581
    assert sum(a.size for a in model.tensors.values()) == 10_067_903
    ops = Counter(op.type for op in model.program.ops)
    assert ops["conv2d"] == 318 and ops["batch_norm"] == 314 and ops["bilinear_interp_v2"] == 36
    assert len(model.program.ops) == 1303 and len(model.program.vars) == 3524
    data = wheel_model_path.with_suffix(".pdiparams").read_bytes()
    names = model.program.persistable_names()
    with pytest.raises(StaticFormatError, match="unread bytes"):
        read_params(data + b"\0", names)
    with pytest.raises(StaticFormatError, match="truncated"):
        read_params(data[:-1], names)


def test_static_edgeflow_export_maps_onto_the_pdparams_names(fixtures_dir: Path) -> None:
    model = read_static_model(fixtures_dir / "edgeflow_random.pdmodel")
    assert len(model.tensors) == 1673
    network = build_network("edgeflow")
    state, never_run = map_static_model(network, model, "edgeflow")
    assert sorted(never_run) == sorted(UNUSED_FINENET)
    dynamic = {paddle_to_torch(k): v for k, v in read_pdparams(fixtures_dir / "edgeflow_random.pdparams").items()}
    assert len(state) == 1673
    assert all(np.array_equal(value, dynamic[name]) for name, value in state.items())


def test_static_program_inputs_and_outputs(fixtures_dir: Path) -> None:
    program = read_program(fixtures_dir / "edgeflow_random.pdmodel")
    feeds = [op.outputs["Out"][0] for op in program.ops if op.type == "feed"]
    assert sorted(feeds) == ["coord_features", "image"]
    assert sum(op.type == "fetch" for op in program.ops) == 3


def test_name_rule_round_trips() -> None:
    assert paddle_to_torch("a.bn1._mean") == "a.bn1.running_mean"
    assert paddle_to_torch("a.bn1._variance") == "a.bn1.running_var"
    assert paddle_to_torch("finenet.atrous1.1._weight") == "finenet.atrous1.1.weight"
    assert torch_to_paddle("a.bn1.running_var") == "a.bn1._variance"
    assert torch_to_paddle("finenet.atrous1.1.weight", is_prelu=True) == "finenet.atrous1.1._weight"


def test_pdparams_loader_keeps_arrays_and_drops_the_name_table(fixtures_dir: Path) -> None:
    arrays = read_pdparams(fixtures_dir / "edgeflow_random.pdparams")
    assert len(arrays) == 1678 and NAME_TABLE_KEY not in arrays
    assert arrays["maps_transform.3.scale"].shape == (1,)


def test_pdparams_loader_refuses_code(tmp_path: Path) -> None:
    class Evil:
        def __reduce__(self):
            return (subprocess.call, (["true"],))

    path = tmp_path / "evil.pdparams"
    path.write_bytes(pickle.dumps({"x": Evil()}))
    with pytest.raises(WeightsError, match="refusing to load subprocess.call"):
        read_pdparams(path)


def test_checkpoint_round_trip(edgeflow_dynamic_model: LoadedModel, fixtures_dir: Path, tmp_path: Path) -> None:
    source = fixtures_dir / "edgeflow_random.pdparams"
    out = convert(source, arch="edgeflow", out=tmp_path / "ef.pt")
    state, meta = read_checkpoint(out)
    assert meta.arch == "edgeflow" and meta.prev_channel == "edge" and meta.name == "ef"
    assert meta.mean == (0.485, 0.456, 0.406) and meta.std == (0.229, 0.224, 0.225)
    assert meta.source["format"] == "paddle-dynamic" and meta.source["sha256"] == sha256_of(source)
    reloaded = load_model("edgeflow", out)
    assert (reloaded.arch, reloaded.prev_channel, reloaded.network.training) == ("edgeflow", "edge", False)
    expected = _state(edgeflow_dynamic_model)
    assert all(torch.equal(value, expected[name]) for name, value in _state(reloaded).items())
    assert set(state) == set(expected)


def test_registry_convert_list_and_load(fixtures_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EDGEFLOW_VAR_DIR", str(tmp_path))
    path = convert(fixtures_dir / "edgeflow_random.pdmodel", name="ef-static")  # architecture detected
    assert path == tmp_path / "models" / "ef-static.pt"
    assert [(name, meta.arch) for name, meta in registered_models()] == [("ef-static", "edgeflow")]
    loaded = load_model("ef-static")
    assert (loaded.name, loaded.arch, loaded.prev_channel) == ("ef-static", "edgeflow", "edge")
    with pytest.raises(WeightsError, match="unknown model 'nope'"):
        load_model("nope")
    with pytest.raises(WeightsError, match="pass a weight file"):
        load_model("edgeflow")


def test_registered_pretrained_model(hrnet18_model: LoadedModel) -> None:
    assert (hrnet18_model.arch, hrnet18_model.prev_channel) == ("hrnet18-ocr64", "mask")
    assert not hrnet18_model.network.training
    from ml.weights import checkpoint_path
    from ml.weights.checkpoint import read_checkpoint_meta

    meta = read_checkpoint_meta(checkpoint_path("hrnet18-ocr64-cocolvis"))
    assert meta.source["path"].startswith(WHEEL_NAME) and len(meta.source["sha256"]) == 64


def test_wrong_architecture_static_names_both_shapes(fixtures_dir: Path) -> None:
    with pytest.raises(WeightsMismatchError) as info:
        load_model("hrnet18-ocr64", fixtures_dir / "edgeflow_random.pdmodel")
    message = str(info.value)
    assert "'hrnet18-ocr64'" in message and "feature_extractor." in message
    assert message.count("[") >= 2, message  # both shapes


def test_wrong_architecture_pdparams_names_the_parameter(fixtures_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(WeightsMismatchError, match=r"finenet\.atrous1\.0\.weight \(shape \[32, 8, 3, 3\]\)"):
        load_model("hrnet18-ocr64", fixtures_dir / "edgeflow_random.pdparams")
    # A file whose shapes differ: the network's and the file's shapes are both reported.
    arrays = read_pdparams(fixtures_dir / "edgeflow_random.pdparams")
    arrays["maps_transform.0.weight"] = np.zeros((16, 4, 1, 1), np.float32)
    doctored = tmp_path / "doctored.pdparams"
    doctored.write_bytes(pickle.dumps({**arrays, NAME_TABLE_KEY: {}}, protocol=4))
    with pytest.raises(
        WeightsMismatchError, match=r"maps_transform\.0\.weight has shape \[16, 4, 1, 1\].*\[16, 3, 1, 1\]"
    ):
        load_model("edgeflow", doctored)


def test_unsupported_suffix(tmp_path: Path) -> None:
    (tmp_path / "w.onnx").write_bytes(b"")
    with pytest.raises(WeightsError, match="unsupported weight file"):
        load_model("edgeflow", tmp_path / "w.onnx")


def test_cli_help_and_list() -> None:
    run = [sys.executable, "-m", "ml.weights"]
    help_text = subprocess.run([*run, "--help"], cwd=REPO_DIR, capture_output=True, text=True, check=True).stdout
    assert all(cmd in help_text for cmd in ("fetch", "convert", "verify", "list"))
    listing = subprocess.run([*run, "list"], cwd=REPO_DIR, capture_output=True, text=True, check=True).stdout
    assert "hrnet18-ocr64-cocolvis" in listing


def test_fetch_is_idempotent_when_registered() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "ml.weights", "fetch"], cwd=REPO_DIR, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0 and "already registered" in result.stdout


def test_fetch_extracts_converts_and_registers_from_a_cached_wheel(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ml.paths import wheels_dir
    from ml.weights.fetch import MODEL_NAME, fetch

    wheel = wheels_dir() / WHEEL_NAME
    if not wheel.is_file():
        pytest.fail("the paddlelabel-ml wheel is not cached")
    monkeypatch.setenv("EDGEFLOW_VAR_DIR", str(tmp_path))
    (tmp_path / "cache" / "wheels").mkdir(parents=True)
    (tmp_path / "cache" / "wheels" / WHEEL_NAME).symlink_to(wheel)  # no download needed
    path, worked = fetch()
    assert worked and path == tmp_path / "models" / f"{MODEL_NAME}.pt"
    assert fetch() == (path, False)
    _, meta = read_checkpoint(path)
    pdiparams = tmp_path / "cache" / "paddle" / "static_hrnet18_ocr64_cocolvis.pdiparams"
    assert meta.source["sha256"] == sha256_of(pdiparams) and meta.source["wheel_sha256"] == sha256_of(wheel)
    assert load_model(MODEL_NAME).arch == "hrnet18-ocr64"
