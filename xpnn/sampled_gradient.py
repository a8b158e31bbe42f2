"""``torch.gradient``: derivative estimates of a sampled function by central differences
inside and one-sided differences (first or second order) at the edges, along each chosen dim.

Composed of differentiable ops (narrow, arithmetic, cat), so it has a gradient with respect
to the input and to tensor coordinates. The formulas are those of ``numpy.gradient`` /
PyTorch: with uniform spacing h the inside is (f[i+1] - f[i-1]) / 2h; with coordinates x,
hl = x[i] - x[i-1] and hr = x[i+1] - x[i] give
(hl^2 f[i+1] - hr^2 f[i-1] + (hr^2 - hl^2) f[i]) / (hl hr (hl + hr)) (Fornberg, 1988).
"""
from __future__ import annotations

import numbers

from . import backend as B
from ._errors import ArgumentError, DtypeError, ShapeError
from .autograd import TensorBase
from .functional.indexing import narrow
from .functional.shape import _axis, cat

__all__ = ["gradient"]


def _dims(input, dim):
    if dim is None:
        return list(range(input.ndim))
    dims = [dim] if isinstance(dim, int) else list(dim)
    dims = [_axis("torch.gradient", d, input.ndim) for d in dims]
    for d in dims:
        if dims.count(d) > 1:
            raise ArgumentError(f"torch.gradient: dim {d} appears multiple times in the list "
                                "of dims")
    return dims


def _spacings(input, spacing, dims, dim_given):
    """One spacing per dim: a Python number (uniform) or a 1-D coordinates Tensor."""
    if isinstance(spacing, (numbers.Number,)) and not isinstance(spacing, bool):
        return [spacing] * len(dims)
    if isinstance(spacing, TensorBase):
        raise TypeError("torch.gradient: spacing must be a scalar, a list of scalars or a "
                        "list/tuple of 1-D coordinate tensors, got a Tensor (wrap it in a "
                        "tuple for coordinates along one dim)")
    spacing = list(spacing)
    if len(spacing) != len(dims):
        where = "dim argument" if dim_given else f"'self.dim() = {input.ndim}', since dim " \
            "argument was not given"
        raise ArgumentError(f"torch.gradient expected spacing to be unspecified, a scalar, "
                            f"or a list of length equal to {where}, but got a list of length "
                            f"{len(spacing)}")
    for d, s in zip(dims, spacing):
        if isinstance(s, TensorBase):
            if s.ndim != 1 or s.shape[0] != input.shape[d]:
                raise ShapeError(f"torch.gradient: the coordinates for dim {d} must be a 1-D "
                                 f"tensor of size {input.shape[d]} (the input's size there), "
                                 f"got shape {tuple(s.shape)}")
            if s._be is not input._be:
                raise TypeError(f"torch.gradient: coordinates on {s._be.name} and input on "
                                f"{input._be.name} (move them to one backend/device)")
        elif not isinstance(s, numbers.Number) or isinstance(s, bool):
            raise TypeError(f"torch.gradient: each spacing must be a number or a 1-D "
                            f"Tensor, got {type(s).__name__}")
    return spacing


def _float(t, like=None):
    """Integers as the default float dtype (torch.gradient's result for integer input)."""
    name = B.dtype_name(t.dtype)
    if name in B.FLOAT_DTYPES or name in B.COMPLEX_DTYPES:
        return t
    want = B.get_default_dtype() if like is None else B.dtype_name(like.dtype)
    return t.to(want)


def _along(f, d, h, edge_order):
    n = f.shape[d]

    def s(start, length):
        return narrow(f, d, start, length)

    if isinstance(h, TensorBase):
        x = _float(h, like=f)
        dx = (narrow(x, 0, 1, n - 1) - narrow(x, 0, 0, n - 1)).reshape(
            [n - 1 if i == d else 1 for i in range(f.ndim)])
        hl, hr = narrow(dx, d, 0, n - 2), narrow(dx, d, 1, n - 2)
        inside = (hl * hl * s(2, n - 2) - hr * hr * s(0, n - 2) +
                  (hr * hr - hl * hl) * s(1, n - 2)) / (hl * hr * (hl + hr))
        d0, d1 = narrow(dx, d, 0, 1), narrow(dx, d, 1, 1) if n > 2 else None
        e1, e0 = narrow(dx, d, n - 2, 1), narrow(dx, d, n - 3, 1) if n > 2 else None
        if edge_order == 1:
            first = (s(1, 1) - s(0, 1)) / d0
            last = (s(n - 1, 1) - s(n - 2, 1)) / e1
        else:
            first = (-(2 * d0 + d1) / (d0 * (d0 + d1)) * s(0, 1) +
                     (d0 + d1) / (d0 * d1) * s(1, 1) - d0 / (d1 * (d0 + d1)) * s(2, 1))
            last = (e1 / (e0 * (e0 + e1)) * s(n - 3, 1) - (e1 + e0) / (e0 * e1) *
                    s(n - 2, 1) + (2 * e1 + e0) / (e1 * (e0 + e1)) * s(n - 1, 1))
    else:
        inside = (s(2, n - 2) - s(0, n - 2)) / (2 * h)
        if edge_order == 1:
            first = (s(1, 1) - s(0, 1)) / h
            last = (s(n - 1, 1) - s(n - 2, 1)) / h
        else:
            first = (-1.5 * s(0, 1) + 2 * s(1, 1) - 0.5 * s(2, 1)) / h
            last = (0.5 * s(n - 3, 1) - 2 * s(n - 2, 1) + 1.5 * s(n - 1, 1)) / h
    return cat([first, inside, last], dim=d)


def gradient(input, *, spacing=1, dim=None, edge_order=1):
    """Estimates of the partial derivatives of the function sampled by ``input``, as
    ``torch.gradient``.

    Args:
        input: a Tensor of samples (integers are read as the default float dtype).
        spacing: a number (the same uniform step along every dim), a list of numbers (one
            step per dim) or a list/tuple of 1-D Tensors (the sample coordinates per dim,
            of that dim's size).
        dim: an int or a list of ints; every dim by default.
        edge_order: 1 or 2, the order of the one-sided differences at the edges; each dim
            needs at least ``edge_order + 1`` samples.

    Returns:
        a tuple with one Tensor of ``input``'s shape per dim.
    """
    if not isinstance(input, TensorBase):
        raise TypeError(f"torch.gradient: input must be a Tensor, got "
                        f"{type(input).__name__}")
    if edge_order not in (1, 2) or isinstance(edge_order, bool):
        raise ArgumentError("torch.gradient only supports edge_order=1 and edge_order=2.")
    if B.dtype_name(input.dtype) in ("uint8", "bool"):  # PyTorch refuses both
        raise DtypeError(f"torch.gradient: input of dtype {B.dtype_name(input.dtype)} is "
                         "not supported, as in PyTorch")
    dims = _dims(input, dim)
    hs = _spacings(input, spacing, dims, dim is not None)
    for d in dims:
        if input.shape[d] < edge_order + 1:
            raise ShapeError(f"torch.gradient expected each dimension size to be at least "
                             f"edge_order+1, but dim {d} of shape {tuple(input.shape)} has "
                             f"size {input.shape[d]} (edge_order={edge_order})")
    f = _float(input)
    return tuple(_along(f, d, h, edge_order) for d, h in zip(dims, hs))
