"""Dropout module."""
from __future__ import annotations

from .. import functional as F
from .._errors import ShapeError
from .module import Module


class Dropout(Module):
    """Zeroes entries with probability p in training mode; the identity in eval mode.
    ``inplace`` is PyTorch's argument, accepted and printed; the input is not overwritten
    (the values are the same)."""

    def __init__(self, p=0.5, inplace=False):
        super().__init__()
        if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0 <= p <= 1:
            raise ValueError(f"{type(self).__name__}: p must be a probability in [0, 1], got "
                             f"{p!r}")
        self.p, self.inplace = float(p), bool(inplace)

    def forward(self, input):
        return F.dropout(input, self.p, self.training)

    def extra_repr(self):
        return f"p={self.p}, inplace={self.inplace}"


class Dropout2d(Dropout):
    """Zeroes whole channels of (N, C, H, W) with probability p in training mode (spatial
    dropout: neighbouring pixels are correlated, so per-pixel dropout regularizes little);
    the identity in eval mode. A 3-D input is (N, C, L), with PyTorch's warning (see
    ``F.dropout2d``)."""

    def forward(self, input):
        if input.ndim not in (3, 4):
            raise ValueError(f"{self!r}: expected a 4-D input (N, C, H, W) (or a 3-D "
                             f"(N, C, L)), got shape {input.shape}")
        return F.dropout2d(input, self.p, self.training)


class Dropout1d(Dropout2d):
    """Zeroes whole channels of (N, C, L) (or unbatched (C, L)) with probability p in
    training mode."""

    def forward(self, input):
        if input.ndim not in (2, 3):
            raise ShapeError(f"{self!r}: expected a 3-D input (N, C, L) or a 2-D unbatched "
                             f"input (C, L), got shape {input.shape}")
        return F.dropout1d(input, self.p, self.training)


class Dropout3d(Dropout2d):
    """Zeroes whole channels of (N, C, D, H, W) (or unbatched (C, D, H, W)) with probability
    p in training mode."""

    def forward(self, input):
        if input.ndim not in (4, 5):
            raise ShapeError(f"{self!r}: expected a 5-D input (N, C, D, H, W) or a 4-D "
                             f"unbatched input (C, D, H, W), got shape {input.shape}")
        return F.dropout3d(input, self.p, self.training)


class AlphaDropout(Dropout):
    """Alpha dropout for SELU networks in training mode (keeps zero mean and unit variance);
    the identity in eval mode."""

    def forward(self, input):
        return F.alpha_dropout(input, self.p, self.training)


class FeatureAlphaDropout(AlphaDropout):
    """Alpha dropout of whole channels of (N, C, ...) in training mode; the identity in eval
    mode."""

    def forward(self, input):
        return F.feature_alpha_dropout(input, self.p, self.training)
