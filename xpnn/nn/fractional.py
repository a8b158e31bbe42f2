"""FractionalMaxPool2d / FractionalMaxPool3d (Graham 2014), over
:func:`xpnn.functional.fractional_max_pool2d` / ``3d``."""
from __future__ import annotations

from .. import functional as F
from .module import Module


def _sizes(name, nd, value, what):
    if value is None:
        return None
    vals = (value,) * nd if isinstance(value, (int, float)) and not isinstance(value, bool) \
        else tuple(value)
    if len(vals) != nd:
        raise ValueError(f"{name}: {what} must be a number or {nd} numbers, got {value!r}")
    return vals


class FractionalMaxPool2d(Module):
    """Max pooling over pseudo-random windows whose output is a fraction of the input.

    Args:
        kernel_size: int or (kh, kw).
        output_size: int or (oh, ow); or output_ratio: numbers in (0, 1), out = int(in * r)
            (exactly one of the two).
        return_indices: also return the flat index of each maximum (for MaxUnpool2d).
        _random_samples: fixed (N, C, 2) samples in [0, 1) (a buffer), else drawn per call.
    """

    nd, _fn = 2, staticmethod(F.fractional_max_pool2d)

    def __init__(self, kernel_size, output_size=None, output_ratio=None, return_indices=False,
                 _random_samples=None):
        super().__init__()
        name, nd = type(self).__name__, self.nd
        self.kernel_size = _sizes(name, nd, kernel_size, "kernel_size")
        self.return_indices = return_indices
        self.register_buffer("_random_samples", _random_samples)
        self.output_size = _sizes(name, nd, output_size, "output_size")
        self.output_ratio = _sizes(name, nd, output_ratio, "output_ratio")
        if output_size is None and output_ratio is None:
            raise ValueError(f"{name} requires specifying either an output size, or a "
                             "pooling ratio")
        if output_size is not None and output_ratio is not None:
            raise ValueError(f"{name}: only one of output_size and output_ratio may be "
                             f"specified, got {output_size!r} and {output_ratio!r}")
        if self.output_ratio is not None and not all(0 < r < 1 for r in self.output_ratio):
            raise ValueError(f"{name}: output_ratio must be between 0 and 1 (got "
                             f"{output_ratio!r})")

    def forward(self, input):
        return self._fn(input, self.kernel_size, self.output_size, self.output_ratio,
                        self.return_indices, _random_samples=self._random_samples)


class FractionalMaxPool3d(FractionalMaxPool2d):
    """As :class:`FractionalMaxPool2d` over (N, C, T, H, W); three sizes, (N, C, 3)
    samples."""

    nd, _fn = 3, staticmethod(F.fractional_max_pool3d)
