"""Ops that move or mask entries without arithmetic: flip, roll, repeat_interleave,
tril/triu, diagonal/diag. Each gradient sends every output entry's gradient back to the
entry it came from."""
from __future__ import annotations

import math

from .. import backend as B
from .._errors import ArgumentError, DtypeNotImplemented, IndexShapeError, ShapeError
from ..autograd import Function, as_tensor, link_view
from .dtype_refusals import refuse_dtypes
from .indexing import Take, _int_array
from .scalar_args import int_list_arg
from .shape import _axis, reshape


class Flip(Function):
    saved_inputs = ()

    def forward(self, X, axes=()):
        self.axes = axes
        return self.xp.flip(X, axis=axes)

    def backward(self, dY):
        return self.xp.flip(dY, axis=self.axes)

    def backward_graph(self, dY):
        return Flip.apply(dY, axes=self.axes)


class Roll(Function):
    saved_inputs = ()

    def forward(self, X, shifts=(), axes=None):
        self.shifts, self.axes = shifts, axes
        return self.xp.roll(X, shifts, axis=axes)

    def backward(self, dY):
        return self.xp.roll(dY, tuple(-s for s in self.shifts), axis=self.axes)

    def backward_graph(self, dY):
        return Roll.apply(dY, shifts=tuple(-s for s in self.shifts), axes=self.axes)


class Triangle(Function):
    """Y = X on and below (lower) or on and above the ``k``-th diagonal of the last two dims,
    0 elsewhere."""

    saved_inputs = ()

    def forward(self, X, k=0, lower=True):
        xp, dev = self.xp, X.device
        m, n = X.shape[-2:]
        rows = xp.reshape(xp.arange(m, device=dev), (m, 1))
        cols = xp.reshape(xp.arange(n, device=dev), (1, n))
        self.keep = cols - rows <= k if lower else cols - rows >= k
        return self._mask(X)

    def _mask(self, A):
        return self.xp.where(self.keep, A, self.xp.zeros((), dtype=A.dtype, device=A.device))

    def backward(self, dY):
        return self._mask(dY)

    def backward_graph(self, dY):
        from .compare import where
        return where(self.keep, dY, 0.0)


class DiagEmbed(Function):
    """Y (..., m, m) with x (..., n) on diagonal ``k`` and zeros elsewhere: a take from
    [0, x] along the last dim (position 0 for the zeros); dX is the take of dY's diagonal."""

    saved_inputs = ()

    def forward(self, X, k=0):
        xp, dev = self.xp, X.device
        n = X.shape[-1]
        m = n + abs(k)
        i = xp.arange(n, device=dev)
        self.pos = (i + max(-k, 0)) * m + i + max(k, 0)  # flat positions of the diagonal
        p = xp.arange(m * m, dtype=xp.int64, device=dev)
        r, c = p // m, p % m
        src = xp.where(c - r == k, r - max(-k, 0) + 1, xp.zeros_like(r))
        lead = tuple(X.shape[:-1])
        padded = xp.concat([xp.zeros(lead + (1,), dtype=X.dtype, device=dev), X], axis=-1)
        return xp.reshape(xp.take(padded, src, axis=X.ndim - 1), lead + (m, m))

    def backward(self, dY):
        xp = self.xp
        flat = xp.reshape(dY, tuple(dY.shape[:-2]) + (-1,))
        return xp.take(flat, self.pos, axis=flat.ndim - 1)


def _dims(op, dims, ndim):
    dims = (dims,) if isinstance(dims, int) else tuple(dims)
    out = tuple(_axis(op, d, ndim) for d in dims)
    if len(set(out)) != len(out):
        raise ArgumentError(f"{op}: dims {dims} name a dim twice")
    return out


def flip(input, dims):
    """``input`` with the order of entries along ``dims`` (an int or a tuple) reversed."""
    x = as_tensor(input, op="flip")
    axes = _dims("flip", dims, x.ndim)
    return Flip.apply(x, axes=axes) if x.ndim else x


def fliplr(input):
    """Flip dim 1 (left/right) of a tensor with at least 2 dims."""
    x = as_tensor(input, op="fliplr")
    if x.ndim < 2:
        raise ShapeError(f"fliplr: input must have at least 2 dims, got shape {x.shape}")
    return flip(x, 1)


def flipud(input):
    """Flip dim 0 (up/down) of a tensor with at least 1 dim."""
    x = as_tensor(input, op="flipud")
    if x.ndim < 1:
        raise ShapeError("flipud: input must have at least 1 dim, got a 0-d tensor")
    return flip(x, 0)


def roll(input, shifts, dims=None):
    """Entries moved ``shifts`` places along ``dims`` (wrapping around); without dims, the
    flattened tensor is rolled and the shape restored."""
    x = as_tensor(input, op="roll")
    shifts = int_list_arg(shifts)  # integer tensors read as ints, as in PyTorch
    shifts = (shifts,) if isinstance(shifts, int) else tuple(int(s) for s in shifts)
    if dims is None:
        if len(shifts) != 1:
            raise ValueError(f"roll: without dims, shifts must be one int, got {shifts}")
        return Roll.apply(x, shifts=shifts, axes=None)
    axes = (dims,) if isinstance(dims, int) else tuple(dims)
    if len(axes) != len(shifts):
        raise ArgumentError(f"roll: shifts {shifts} and dims {axes} must have the same length")
    axes = tuple(_axis("roll", d, x.ndim) for d in axes)
    return Roll.apply(x, shifts=shifts, axes=axes)


def repeat_interleave(input, repeats=None, dim=None, *, output_size=None):
    """Each entry along ``dim`` repeated ``repeats`` times (an int, or one count per entry);
    without ``dim`` the flattened input. ``repeat_interleave(counts)`` alone repeats
    0, 1, 2, ... by the counts (PyTorch's one-argument form)."""
    x = as_tensor(input, op="repeat_interleave")
    xp, be = x.xp, x._be
    if repeats is None:  # torch.repeat_interleave(repeats): indices
        refuse_dtypes("repeat_interleave", ("bool", "floating", "complex"), x,
                      names=("repeats",))
        if x.ndim > 1:
            raise ShapeError(f"repeat_interleave: repeats must be 0-dim or 1-dim, got shape "
                             f"{tuple(x.shape)}")
        n = x.shape[0] if x.ndim else 1
        counts = xp.reshape(x.array, (-1,))
        return x._result(xp.repeat(xp.arange(n, dtype=xp.int64, device=be.device), counts),
                         be)
    if dim is None:
        x, d = reshape(x, (-1,)), 0
    else:
        d = _axis("repeat_interleave", dim, x.ndim)
    n = x.shape[d] if x.ndim else 1
    if isinstance(repeats, int) and not isinstance(repeats, bool):
        if repeats < 0:
            raise ArgumentError(f"repeat_interleave: repeats must be >= 0, got {repeats}")
        counts = repeats
    else:
        if hasattr(repeats, "dtype") and B.dtype_name(repeats.dtype) not in ("int32", "int64"):
            raise DtypeNotImplemented(f"repeat_interleave: repeats must be int32 or int64, "
                                      f"got {B.dtype_name(repeats.dtype)}, as in PyTorch")
        counts = _int_array(be, repeats, "repeat_interleave")
        # the output size is read from the counts anyway (a host read): refuse negatives
        if math.prod(counts.shape) and int(xp.min(counts)) < 0:
            raise ArgumentError("repeat_interleave: repeats can not be negative")
        if counts.ndim > 1 or (counts.ndim == 1 and counts.shape[0] not in (1, n)):
            raise ShapeError(f"repeat_interleave: repeats of shape {tuple(counts.shape)} must "
                             f"be one count or one per entry ({n}) of dim {d}")
        counts = xp.broadcast_to(xp.reshape(counts, (-1,)), (n,))
    idx = xp.repeat(xp.arange(n, dtype=xp.int64, device=be.device), counts)
    if x.ndim == 0:
        x = reshape(x, (1,))
    return Take.apply(x, indices=idx, axis=d)


def _triangle(op, input, diagonal, lower):
    x = as_tensor(input, op=op)
    if x.ndim < 2:
        raise ShapeError(f"{op}: input must have at least 2 dims, got shape {x.shape}")
    if isinstance(diagonal, bool) or not isinstance(diagonal, (int, B.np.integer)):
        raise TypeError(f"{op}: diagonal must be an int, got {diagonal!r}")
    return Triangle.apply(x, k=int(diagonal), lower=lower)


def tril(input, diagonal=0):
    """The lower triangle (on and below diagonal ``diagonal``) of the last two dims; the
    rest zero."""
    return _triangle("tril", input, diagonal, True)


def triu(input, diagonal=0):
    """The upper triangle (on and above diagonal ``diagonal``) of the last two dims."""
    return _triangle("triu", input, diagonal, False)


def _diagonal_dims(op, x, dim1, dim2):
    if x.ndim < 2:
        # PyTorch: IndexError, "Dimension out of range"
        raise IndexShapeError(f"{op}: input must have at least 2 dims, got shape {x.shape}")
    a, b = _axis(op, dim1, x.ndim), _axis(op, dim2, x.ndim)
    if a == b:
        raise ArgumentError(f"{op}: dim1 and dim2 must differ, got {dim1} and {dim2}")
    return a, b


def diagonal(input, offset=0, dim1=0, dim2=1):
    """The diagonal ``offset`` of the (dim1, dim2) planes, as a new last dim. Like PyTorch's,
    it is a view: an in-place change of it shows in ``input`` and the other way round
    (xpnn.tensor.write_back, with :func:`diagonal_scatter`)."""
    x = as_tensor(input, op="diagonal")
    a, b = _diagonal_dims("diagonal", x, dim1, dim2)
    return link_view(x, _diagonal(x, int(offset), a, b), "diagonal", (int(offset), a, b))


def _diagonal_layout(x, offset, a, b):
    """(the (dim1, dim2) planes permuted last and flattened, the flat positions of the
    diagonal in them, the permutation)."""
    from .shape import permute
    m, n = x.shape[a], x.shape[b]
    order = [d for d in range(x.ndim) if d not in (a, b)] + [a, b]
    y = reshape(permute(x, order), tuple(x.shape[d] for d in order[:-2]) + (m * n,))
    length = max(0, min(m, n - offset) if offset >= 0 else min(m + offset, n))
    xp = x.xp
    i = xp.arange(length, dtype=xp.int64, device=x._be.device)
    return y, (i + max(-offset, 0)) * n + i + max(offset, 0), order


def _diagonal(x, offset, a, b):
    """The diagonal, a copy: a take of flat positions of the permuted, flattened planes."""
    y, pos, _ = _diagonal_layout(x, offset, a, b)
    return Take.apply(y, indices=pos, axis=y.ndim - 1)


class _SizeError(ValueError, RuntimeError):
    """A src that does not fit: caught as PyTorch's RuntimeError or as a ValueError."""


def diagonal_scatter(input, src, offset=0, dim1=0, dim2=1):
    """``input`` with its diagonal ``offset`` of the (dim1, dim2) planes replaced by ``src``
    (shaped as :func:`diagonal`'s result), as ``torch.diagonal_scatter``; differentiable in
    both."""
    from .indexing import SetItem
    from .shape import permute
    x = as_tensor(input, op="diagonal_scatter")
    v = as_tensor(src, like=x, op="diagonal_scatter")
    a, b = _diagonal_dims("diagonal_scatter", x, dim1, dim2)
    y, pos, order = _diagonal_layout(x, int(offset), a, b)
    want = tuple(y.shape[:-1]) + tuple(pos.shape)
    if tuple(v.shape) != want:  # torch raises a RuntimeError; a ValueError is xpnn's kind
        raise _SizeError(f"diagonal_scatter: src of shape {v.shape} does not fit the diagonal "
                         f"of shape {want} (offset {offset}, dims {dim1} and {dim2} of "
                         f"input of shape {x.shape})")
    if v.dtype != x.dtype:
        raise TypeError(f"diagonal_scatter: src dtype {v.dtype} differs from input dtype "
                        f"{x.dtype}")
    z = SetItem.apply(y, v, key=(Ellipsis, pos))
    z = reshape(z, tuple(x.shape[d] for d in order))
    return permute(z, [order.index(d) for d in range(x.ndim)])


def diag(input, diagonal=0):
    """1-D input: a square matrix with it on diagonal ``diagonal``; 2-D input: that
    diagonal as a 1-D tensor (``torch.diag``)."""
    x = as_tensor(input, op="diag")
    if x.ndim == 2:
        return _diagonal(x, int(diagonal), 0, 1)
    if x.ndim != 1:
        raise ShapeError(f"diag: input must be 1-D or 2-D, got shape {x.shape}")
    return DiagEmbed.apply(x, k=int(diagonal))


def diag_embed(input, offset=0, dim1=-2, dim2=-1):
    """Square matrices with the last dim of ``input`` on their diagonal ``offset``, in the
    dims ``dim1`` and ``dim2`` of the output (``torch.diag_embed``)."""
    from .shape import permute
    x = as_tensor(input, op="diag_embed")
    if x.ndim < 1:
        raise IndexShapeError("diag_embed: input must have at least 1 dim, got a 0-d tensor")
    a, b = _axis("diag_embed", dim1, x.ndim + 1), _axis("diag_embed", dim2, x.ndim + 1)
    if a == b:
        raise ArgumentError(f"diag_embed: dim1 and dim2 must differ, got {dim1} and {dim2}")
    y = DiagEmbed.apply(x, k=int(offset))
    rest = iter(range(x.ndim - 1))  # the batch dims keep their order around dims a and b
    order = [x.ndim - 1 if d == a else x.ndim if d == b else next(rest)
             for d in range(x.ndim + 1)]
    return y if order == list(range(x.ndim + 1)) else permute(y, order)


def diagflat(input, offset=0):
    """A square matrix with ``input``, flattened, on its diagonal ``offset``."""
    return diag(reshape(as_tensor(input, op="diagflat"), (-1,)), offset)
