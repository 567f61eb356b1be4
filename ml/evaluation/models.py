"""Sessions by model name: the GrabCut baseline or a registered deep model in a ``ClickSession``."""

from __future__ import annotations

from pathlib import Path

from ml.evaluation.grabcut import GrabCutSession
from ml.evaluation.session import Session

GRABCUT = "grabcut"


def open_session(
    model: str,
    weights: str | Path | None = None,
    *,
    zoom_in: bool = True,
    flip: bool = False,
    threads: int | None = None,
    engine: str = "torch",
) -> Session:
    """A fresh session for ``model``; ``zoom_in``/``flip``/``threads``/``engine`` only concern deep models.

    ``engine`` names an inference engine (``ml.inference.engines``): ``torch``, the reference, by default, or the
    one the app serves with (``openvino``, ``openvino-int8``...), to measure what annotators get. An engine that
    cannot be built falls back to ``torch`` with a warning; the session's ``engine.engine_name`` says which ran.
    """
    if model == GRABCUT:
        if weights is not None:
            raise ValueError("the grabcut baseline takes no weights")
        return GrabCutSession()
    # Imported here so that the GrabCut baseline and the harness tests never load torch.
    from ml.inference import ClickSession
    from ml.inference.engines import create_engine
    from ml.weights import load_model

    loaded = load_model(model, weights)
    runner = loaded if engine == "torch" else create_engine(loaded, engine, threads)
    return ClickSession(runner, zoom_in=zoom_in, flip=flip, threads=threads)
