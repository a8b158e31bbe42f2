"""Distance modules: CosineSimilarity and PairwiseDistance (no parameters)."""
from __future__ import annotations

from .. import functional as F
from .module import Module


def _nonneg(layer, arg, value):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise ValueError(f"{layer}: {arg} must be a number >= 0, got {value!r}")
    return value


class CosineSimilarity(Module):
    """Cosine similarity of x1 and x2 along ``dim`` (norms clamped at ``eps``)."""

    def __init__(self, dim=1, eps=1e-8):
        super().__init__()
        if isinstance(dim, bool) or not isinstance(dim, int):
            raise ValueError(f"CosineSimilarity: dim must be an int, got {dim!r}")
        self.dim, self.eps = dim, _nonneg("CosineSimilarity", "eps", eps)

    def forward(self, x1, x2):
        return F.cosine_similarity(x1, x2, self.dim, self.eps)


class PairwiseDistance(Module):
    """||x1 - x2 + eps||_p over the last dim."""

    def __init__(self, p=2.0, eps=1e-6, keepdim=False):
        super().__init__()
        if isinstance(p, bool) or not isinstance(p, (int, float)):
            raise ValueError(f"PairwiseDistance: p must be a number, got {p!r}")
        self.norm, self.eps = p, _nonneg("PairwiseDistance", "eps", eps)
        self.keepdim = bool(keepdim)

    def forward(self, x1, x2):
        return F.pairwise_distance(x1, x2, self.norm, self.eps, self.keepdim)
