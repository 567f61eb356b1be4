"""Training EdgeFlow (and fine-tuning it on a project's labels).

- :mod:`ml.training.config`: the JSON training config (:class:`TrainConfig`).
- :mod:`ml.training.losses`: normalized focal loss, class-balanced edge BCE, BCE, edge targets.
- :mod:`ml.training.init_from_ritm`: EdgeFlow started from the RITM HRNet18-OCR64 weights.
- :mod:`ml.training.forward`: the training forward pass (keeps the coarse logits) and the BN policy.
- :mod:`ml.training.iterative`: RITM's iterative corrective clicks, fed back without gradients.
- :mod:`ml.training.validation`: held-out NoC with the real click session.
- :mod:`ml.training.trainer`: the loop: phases, Adam + poly decay, checkpoints, resume, CSV log, curve.
"""
