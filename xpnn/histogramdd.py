"""``torch.histogramdd``: the histogram of N points in D dimensions, bins equal per dim over
a range (the data's by default) or given by edges per dim. No gradient (as PyTorch).

A point belongs to bin i of a dim when edges[i] <= x < edges[i+1], the top edge belonging to
the last bin; points outside any dim's edges are left out. Counts are summed by
``index_add`` on the flat bin index, so nothing is read back to the host except the data's
range when ``range`` is not given (one read, as PyTorch).
"""
from __future__ import annotations

import math

from . import backend as B
from . import return_types
from ._errors import ArgumentError, DtypeNotImplemented, ShapeError
from .autograd import TensorBase, as_tensor
from .functional.indexing import index_add
from .functional.misc import uniform_edges

__all__ = ["histogramdd"]


def histogramdd(input, bins, *, range=None, weight=None, density=False):
    """A D-dimensional histogram, as ``torch.histogramdd``.

    Args:
        input: (..., D) floating points (the leading dims are flattened to N points).
        bins: an int (that many bins in every dim), D ints, or D 1-D Tensors of edges.
        range: 2D floats [lo_0, hi_0, lo_1, hi_1, ...] (with int bins only).
        weight: (...) weights of the points (input's shape without the last dim).
        density: divide by the total and the bin volumes.

    Returns:
        ``(hist, bin_edges)``: hist of shape (bins_0, ..., bins_{D-1}) in input's dtype and
        a tuple of D edge tensors.
    """
    if not isinstance(input, TensorBase):
        raise TypeError(f"histogramdd: input must be a Tensor, got {type(input).__name__}")
    xp, be = input.xp, input._be
    if not be.is_floating(input.dtype):
        raise DtypeNotImplemented(f'"histogramdd" not implemented for '
                                  f"{B.dtype_name(input.dtype)} (a floating tensor is "
                                  "expected, as in PyTorch)")
    if input.ndim < 1:
        raise ShapeError("histogramdd: input should have at least 1 dimension, got a 0-d "
                         "tensor")
    D = input.shape[-1]
    X = xp.reshape(input.array, (-1, D))
    dt = X.dtype
    if isinstance(bins, int) and not isinstance(bins, bool):
        bins = [bins] * D
    bins = list(bins)
    if len(bins) != D:
        raise ShapeError(f"histogramdd: The size of bins must be equal to the innermost "
                         f"dimension of the input (got {len(bins)} bins for input of shape "
                         f"{tuple(input.shape)})")
    given = [isinstance(b, TensorBase) for b in bins]
    if any(given) and not all(given):
        raise TypeError("histogramdd: bins must be all ints or all 1-D edge tensors")
    if range is not None:
        if any(given):
            raise ArgumentError("histogramdd: range can't be given with bin edges as tensors")
        range = [float(v) for v in range]
        if len(range) != 2 * D:
            raise ShapeError(f"histogramdd: range should have {2 * D} elements (a min and a "
                             f"max per dim), got {len(range)}")
    edges = []
    for d, b in enumerate(bins):
        if given[d]:
            if b.ndim != 1 or b.shape[0] < 2:
                raise ShapeError(f"histogramdd: bin edges for dim {d} must be a 1-D tensor "
                                 f"of at least 2 edges, got shape {tuple(b.shape)}")
            edges.append(xp.astype(as_tensor(b, like=input, op="histogramdd").array, dt))
        else:
            if isinstance(b, bool) or not isinstance(b, int) or b <= 0:
                raise ArgumentError(f"histogramdd: bins must be > 0, got {b!r} for dim {d}")
            lo_hi = None if range is None else range[2 * d:2 * d + 2]
            edges.append(uniform_edges("histogramdd", be, X[:, d], b, lo_hi, dt))
    sizes = [e.shape[0] - 1 for e in edges]
    inside = xp.ones((X.shape[0],), dtype=xp.bool, device=be.device)
    flat = xp.zeros((X.shape[0],), dtype=xp.int64, device=be.device)
    columns = xp.reshape(xp.permute_dims(X, (1, 0)), (-1,))  # each dim's points contiguous
    for d, e in enumerate(edges):
        col = columns[d * X.shape[0]:(d + 1) * X.shape[0]]
        inside = inside & (col >= e[0]) & (col <= e[-1])
        pos = xp.astype(xp.searchsorted(e, col, side="right"), xp.int64) - 1
        flat = flat * sizes[d] + xp.clip(pos, 0, sizes[d] - 1)
    flat = xp.where(inside, flat, xp.zeros_like(flat))
    if weight is not None:
        w = as_tensor(weight, like=input, op="histogramdd")
        if tuple(w.shape) != tuple(input.shape[:-1]):
            raise ShapeError(f"histogramdd: weight should have the input's shape without its "
                             f"last dim {tuple(input.shape[:-1])}, got {tuple(w.shape)}")
        vals = xp.where(inside, xp.astype(xp.reshape(w.array, (-1,)), dt),
                        xp.zeros((), dtype=dt, device=be.device))
    else:
        vals = xp.astype(inside, dt)
    total = math.prod(sizes)
    hist = index_add(be, xp.zeros((total,), dtype=dt, device=be.device), 0, flat, vals)
    hist = xp.reshape(hist, tuple(sizes))
    if density:
        volume = None
        for d, e in enumerate(edges):
            shape = [1] * D
            shape[d] = sizes[d]
            width = xp.reshape(e[1:] - e[:-1], tuple(shape))
            volume = width if volume is None else volume * width
        with be.quiet():
            hist = hist / (xp.sum(hist) * volume)
    return return_types.histogramdd(input._result(hist, be),
                                    tuple(input._result(e, be) for e in edges))
