"""NoC evaluation harness for click-based interactive segmentation (RITM protocol; never imports Django)."""

from ml.evaluation.clicker import Clicker, deepest_error_click
from ml.evaluation.datasets import open_dataset
from ml.evaluation.grabcut import GrabCutSession, GrabCutSettings
from ml.evaluation.report import summarize
from ml.evaluation.runner import PRED_THRESHOLD, SampleResult, evaluate_dataset, evaluate_sample
from ml.evaluation.sample import Sample
from ml.evaluation.session import Session

__all__ = [
    "PRED_THRESHOLD",
    "Clicker",
    "GrabCutSession",
    "GrabCutSettings",
    "Sample",
    "SampleResult",
    "Session",
    "deepest_error_click",
    "evaluate_dataset",
    "evaluate_sample",
    "open_dataset",
    "summarize",
]
