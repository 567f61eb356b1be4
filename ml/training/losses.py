"""The paper's losses: normalized focal loss (mask), class-balanced BCE (edge), BCE (auxiliary head).

Targets are N×1×H×W float tensors: 1 object, 0 background, -1 ignored (never counted).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

IGNORE = -1.0


def normalized_focal_loss(
    logits: torch.Tensor, target: torch.Tensor, alpha: float = 0.5, gamma: float = 2.0, eps: float = 1e-12
) -> torch.Tensor:
    """RITM's ``NormalizedFocalLossSigmoid``: −α_t·β·log(p_t), β = (1−p_t)^γ rescaled per image so that
    Σβ equals the number of valid pixels (the rescaling factor is detached); mean over valid pixels."""
    valid = (target != IGNORE).float()
    positive = target > 0.5
    prob = torch.sigmoid(logits)
    alpha_t = torch.where(positive, alpha, 1.0 - alpha) * valid
    p_t = torch.where(valid > 0, 1.0 - (target.clamp(min=0) - prob).abs(), torch.ones_like(prob))
    beta = (1.0 - p_t) ** gamma
    dims = tuple(range(1, logits.dim()))
    valid_count = valid.sum(dim=dims, keepdim=True)
    multiplier = (valid_count / (beta.sum(dim=dims, keepdim=True) + eps)).detach()
    loss = -alpha_t * beta * multiplier * torch.log(torch.clamp(p_t + eps, max=1.0))
    return (loss.sum(dim=dims) / (valid_count.flatten() + eps)).mean()


def binary_cross_entropy(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Sigmoid BCE averaged over valid pixels (RITM's ``SigmoidBinaryCrossEntropyLoss``)."""
    valid = (target != IGNORE).float()
    loss = F.binary_cross_entropy_with_logits(logits, target.clamp(min=0), reduction="none") * valid
    return loss.sum() / valid.sum().clamp(min=1.0)


def balanced_binary_cross_entropy(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Class-balanced BCE: per image, edge pixels weigh |background|/|valid| and the others |edge|/|valid|,
    so both classes contribute equally however thin the edges are (a weighted mean)."""
    valid = (target != IGNORE).float()
    positive = (target > 0.5).float() * valid
    dims = tuple(range(1, logits.dim()))
    count = valid.sum(dim=dims, keepdim=True).clamp(min=1.0)
    pos_fraction = positive.sum(dim=dims, keepdim=True) / count
    weight = (positive * (1.0 - pos_fraction) + (valid - positive) * pos_fraction).detach()
    loss = F.binary_cross_entropy_with_logits(logits, target.clamp(min=0), reduction="none")
    return (loss * weight).sum() / weight.sum().clamp(min=1e-6)


def edge_target(mask: torch.Tensor, width: int = 5) -> torch.Tensor:
    """Edge ground truth from the object mask borders: a morphological gradient (dilation − erosion by a
    ``width``×``width`` square), so a band of about ``width`` pixels straddles every border. Pixels ignored
    in ``mask`` stay ignored; the image frame is not an edge."""
    obj = (mask > 0.5).float()
    pad = width // 2
    dilated = F.max_pool2d(obj, width, stride=1, padding=pad)
    eroded = -F.max_pool2d(-obj, width, stride=1, padding=pad)
    edge = dilated - eroded
    return torch.where(mask == IGNORE, torch.full_like(edge, IGNORE), edge)
