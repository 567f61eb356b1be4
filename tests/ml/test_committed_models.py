"""The models committed in models/: registered by ``python -m ml.weights fetch``, fp16 storage checked."""

import torch

from ml.training.parity import max_differences


def test_committed_models_are_registered_by_fetch_and_keep_fp16_parity(tmp_path, monkeypatch) -> None:
    from ml.weights import load_model
    from ml.weights.bundled import BUNDLED_DIR, bundled_checkpoints, install_bundled
    from ml.weights.checkpoint import read_checkpoint

    committed = bundled_checkpoints()
    assert [p.stem for p in committed] == ["edgeflow-hrnet18-ours"]
    monkeypatch.setenv("EDGEFLOW_VAR_DIR", str(tmp_path))
    assert install_bundled() == [("edgeflow-hrnet18-ours", True)]
    assert install_bundled() == [("edgeflow-hrnet18-ours", False)]
    state, meta = read_checkpoint(committed[0])
    assert (
        meta.arch == "edgeflow" and state["feature_extractor.stage4.0.branches.0.0.conv1.weight"].dtype == torch.float16
    )
    differences = max_differences(
        load_model("edgeflow-hrnet18-ours").network, BUNDLED_DIR / "edgeflow-hrnet18-ours.parity.npz"
    )
    assert max(differences.values()) < 1e-2, differences
