"""torch.nn's older names kept for old programs: ``NLLLoss2d`` (NLLLoss under its former
name), ``Container`` (a Module holding the modules given as keywords; deprecated) and
``CrossMapLRN2d`` (Lua Torch's cross-channel response normalization)."""
from __future__ import annotations

import warnings

from .. import functional as F
from ..tensor import Tensor
from .loss import NLLLoss
from .module import Module, as_input, check_int


class NLLLoss2d(NLLLoss):
    """Deprecated (warns, as PyTorch's): NLLLoss under its former name (NLLLoss takes
    (N, C, H, W) scores as well)."""

    def __init__(self, weight=None, size_average=None, ignore_index=-100, reduce=None,
                 reduction="mean"):
        warnings.warn("`NLLLoss2d` has been deprecated. Please use `NLLLoss` instead as a "
                      "drop-in replacement.", FutureWarning, stacklevel=2)
        super().__init__(weight, size_average, ignore_index, reduce, reduction)


class Container(Module):
    """Deprecated (warns, as PyTorch's): a Module with the keyword arguments as children."""

    def __init__(self, **kwargs):
        warnings.warn("`nn.Container` is deprecated. All of its functionality is now "
                      "implemented in `nn.Module`. Subclass that instead.", FutureWarning,
                      stacklevel=2)
        super().__init__()
        for key, value in kwargs.items():
            self.add_module(key, value)


class CrossMapLRN2d(Module):
    """Response normalization across channels of (N, C, H, W), Lua Torch's form that
    PyTorch keeps: y = x * (k + alpha / size * s) ** -beta, with s the sum of x^2 over the
    channel window PyTorch's running-sum loop gives (channels c - size // 2 .. c + size // 2
    clipped to the input, where the first channel, once added, is never taken out again;
    we reproduce it as a fixed 0/1 channel-mixing matrix, so the gradient is the exact one
    of these values).

    Args:
        size: the window (int >= 1); alpha, beta, k: as above.
    """

    def __init__(self, size, alpha=1e-4, beta=0.75, k=1):
        super().__init__()
        self.size = check_int("CrossMapLRN2d", "size", size)
        self.alpha, self.beta, self.k = alpha, beta, k

    def extra_repr(self):
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"

    def forward(self, input):
        x = as_input(input)
        if x.ndim != 4:
            raise ValueError(f"CrossMapLRN2d: Expected input to be 4D, got {x.ndim}D "
                             f"instead (shape {tuple(x.shape)})")
        N, C, H, W = x.shape
        xp, pre = x.xp, int((self.size - 1) / 2 + 1)
        c = xp.arange(C, device=x.device)[:, None]
        j = xp.arange(C, device=x.device)[None, :]
        taken = (j <= c + (pre - 1)) & ~((j >= 1) & (j <= c - pre))
        mix = Tensor(xp.astype(taken, x.dtype), _be=x._be)
        s = F.reshape(F.matmul(mix, F.reshape(x * x, (N, C, H * W))), (N, C, H, W))
        return x * F.pow(s * (self.alpha / self.size) + self.k, -self.beta)
