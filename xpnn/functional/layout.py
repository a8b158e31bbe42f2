"""More of PyTorch's shape functions, each built from the differentiable shape ops
(reshape, expand, cat, narrow, flip, indexing), so gradients come for free: meshgrid,
tensor_split and h/v/dsplit, rot90, h/v/d/column_stack, ravel, select, atleast_1d/2d/3d,
block_diag, cartesian_prod and combinations.
"""
from __future__ import annotations

import itertools
import math
import warnings

from .. import backend as B
from .._errors import ArgumentError, ShapeError
from ..autograd import TensorBase, as_tensor
from .indexing import getitem, narrow, take
from .rearrange import flip
from .shape import _axis, _joinable, cat, expand, reshape, stack, tensor_list, transpose


def _tensors(op, tensors):
    """f(a, b, c) or f([a, b, c]) -> a list of Tensors."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tensors[0]
    return [as_tensor(t, op=op) for t in tensors]


def meshgrid(*tensors, indexing=None):
    """Coordinate grids from 1-D (or 0-d) tensors, as ``torch.meshgrid``: output ``i`` holds
    ``tensors[i]`` expanded over the grid (a broadcast view, so gradients sum over copies).

    Args:
        tensors: N tensors of 0 or 1 dims, or one list of them.
        indexing: "ij" (matrix: grid shape (len t0, len t1, ...)) or "xy" (Cartesian: the
            first two dims swapped). None is "ij" with PyTorch's warning.
    Returns:
        a tuple of N tensors of the grid shape, each of its input's dtype.
    """
    if indexing is None:
        warnings.warn("meshgrid: in an upcoming release, it will be required to pass the "
                      "indexing argument (as torch.meshgrid warns); using 'ij'", UserWarning,
                      stacklevel=2)
        indexing = "ij"
    if indexing not in ("ij", "xy"):
        raise ArgumentError(f"meshgrid: indexing must be 'ij' or 'xy', got {indexing!r}")
    ts = _tensors("meshgrid", tensors)
    for i, t in enumerate(ts):
        if t.ndim > 1:
            raise ShapeError(f"meshgrid: expects 0-d or 1-d tensors, got shape {t.shape} for "
                             f"tensor {i}")
    if any(t.dtype != ts[0].dtype for t in ts):
        raise TypeError(f"meshgrid: expects all tensors to have the same dtype, got "
                        f"{[B.dtype_name(t.dtype) for t in ts]}")
    sizes = [math.prod(t.shape) for t in ts]
    place = list(range(len(ts)))  # the grid dim each tensor runs along
    if indexing == "xy" and len(ts) > 1:
        place[0], place[1] = 1, 0
    shape = [0] * len(ts)
    for i, p in enumerate(place):
        shape[p] = sizes[i]
    out = []
    for t, p in zip(ts, place):
        view = [1] * len(ts)
        view[p] = shape[p]
        out.append(expand(reshape(t, tuple(view)), tuple(shape)))
    return tuple(out)


def _split_points(op, x, d, indices_or_sections):
    """The piece boundaries along dim ``d`` for ``tensor_split``'s second argument."""
    n = x.shape[d]
    arg = indices_or_sections
    if isinstance(arg, TensorBase):  # PyTorch takes a CPU tensor here: read its values
        if arg.ndim > 1 or arg._be.is_floating(arg.dtype):
            raise TypeError(f"{op}: a tensor indices_or_sections must be a 0-d or 1-d integer "
                            f"tensor, got shape {arg.shape} of {B.dtype_name(arg.dtype)}")
        arg = arg.tolist()
    if isinstance(arg, bool) or not isinstance(arg, (int, B.np.integer, list, tuple)):
        raise TypeError(f"{op}: indices_or_sections must be an int or a sequence of ints, "
                        f"got {type(arg).__name__}")
    if isinstance(arg, (int, B.np.integer)):
        s = int(arg)
        if s <= 0:
            raise ArgumentError(f"{op}: number of sections must be larger than 0, got {s}")
        small, extra = divmod(n, s)  # the first n % s pieces are one larger
        bounds = [i * small + min(i, extra) for i in range(s + 1)]
        return list(zip(bounds[:-1], bounds[1:]))
    points = [int(i) for i in arg]
    starts = [0] + points
    stops = points + [n]
    out = []
    for a, b in zip(starts, stops):  # PyTorch clips each boundary into [0, n]
        a = min(max(a + n if a < 0 else a, 0), n)
        b = min(max(b + n if b < 0 else b, 0), n)
        out.append((a, max(a, b)))
    return out


def _one_split_arg(op, indices_or_sections, sections, indices):
    """The one of PyTorch's spellings (positional, ``sections=``, ``indices=``) given."""
    given = [a for a in (indices_or_sections, sections, indices) if a is not None]
    if len(given) != 1:
        raise TypeError(f"{op}: expected exactly one of indices_or_sections, sections= or "
                        f"indices=, got {len(given)}")
    return given[0]


def tensor_split(input, indices_or_sections=None, dim=0, *, sections=None, indices=None):
    """Views of ``input`` along ``dim``, as ``torch.tensor_split``: ``sections`` (an int)
    pieces of sizes differing by at most one, or pieces cut before each of ``indices``
    (either passed as ``indices_or_sections`` or by its own name, as PyTorch's overloads).

    Returns:
        a tuple of views of input's dtype (differentiable).
    """
    arg = _one_split_arg("tensor_split", indices_or_sections, sections, indices)
    x = as_tensor(input, op="tensor_split")
    if x.ndim == 0:
        raise ValueError("tensor_split: expected at least a 1-dimensional tensor")
    d = _axis("tensor_split", dim, x.ndim)
    pieces = _split_points("tensor_split", x, d, arg)
    return tuple(narrow(x, d, a, b - a) for a, b in pieces)


def _split_along(op, input, sections, d, need):
    x = as_tensor(input, op=op)
    if x.ndim < need:
        raise ShapeError(f"{op} requires a tensor with at least {need} dimension(s), but got "
                         f"a tensor with {x.ndim} dimensions")
    if isinstance(sections, (int, B.np.integer)) and not isinstance(sections, bool):
        n = x.shape[d]
        if sections <= 0 or n % sections:
            raise RuntimeError(f"{op} attempted to split along dimension {d}, but the size of "
                               f"the dimension {n} is not divisible by the split_size "
                               f"{sections}!")
    return tensor_split(x, sections, d)


def hsplit(input, indices_or_sections=None, *, sections=None, indices=None):
    """``tensor_split`` along dim 1 (dim 0 of a 1-d tensor); an int must divide evenly."""
    arg = _one_split_arg("hsplit", indices_or_sections, sections, indices)
    x = as_tensor(input, op="hsplit")
    return _split_along("hsplit", x, arg, 1 if x.ndim > 1 else 0, 1)


def vsplit(input, indices_or_sections=None, *, sections=None, indices=None):
    """``tensor_split`` along dim 0 of a tensor with at least 2 dims."""
    arg = _one_split_arg("vsplit", indices_or_sections, sections, indices)
    return _split_along("vsplit", input, arg, 0, 2)


def dsplit(input, indices_or_sections=None, *, sections=None, indices=None):
    """``tensor_split`` along dim 2 of a tensor with at least 3 dims."""
    arg = _one_split_arg("dsplit", indices_or_sections, sections, indices)
    return _split_along("dsplit", input, arg, 2, 3)


def rot90(input, k=1, dims=(0, 1)):
    """``input`` rotated by 90 degrees ``k`` times in the plane of ``dims``, from the first
    dim towards the second, as ``torch.rot90`` (a flip and a transpose)."""
    x = as_tensor(input, op="rot90")
    dims = tuple(dims)
    if len(dims) != 2:
        raise ValueError(f"rot90: expected total rotation dims == 2, but got dims = {len(dims)}")
    if x.ndim < 2:
        raise ShapeError(f"rot90: expected total dims >= 2, but got total dims = {x.ndim}")
    a, b = _axis("rot90", dims[0], x.ndim), _axis("rot90", dims[1], x.ndim)
    if a == b:
        raise ArgumentError(f"rot90: expected rotation dims to be different, but got dim0 = "
                            f"{dims[0]} and dim1 = {dims[1]}")
    k %= 4
    if k == 1:
        return transpose(flip(x, b), a, b)
    if k == 2:
        return flip(x, (a, b))
    if k == 3:
        return transpose(flip(x, a), a, b)
    return x


def _atleast(op, n, tensors):
    ts = tensors[0] if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)) else \
        tensors
    out = []
    for t in ts:
        t = as_tensor(t, op=op)
        if t.ndim < n:
            if n == 3 and t.ndim == 2:
                t = reshape(t, t.shape + (1,))
            elif n == 3 and t.ndim == 1:
                t = reshape(t, (1,) + t.shape + (1,))
            else:
                t = reshape(t, (1,) * (n - t.ndim) + t.shape)
        out.append(t)
    if len(tensors) == 1 and not isinstance(tensors[0], (list, tuple)):
        return out[0]
    return tuple(out)


def atleast_1d(*tensors):
    """Each tensor with at least 1 dim (a 0-d one becomes shape (1,)); one tensor in, one
    out, else a tuple, as ``torch.atleast_1d``."""
    return _atleast("atleast_1d", 1, tensors)


def atleast_2d(*tensors):
    """Each tensor with at least 2 dims (new dims in front: (n,) -> (1, n))."""
    return _atleast("atleast_2d", 2, tensors)


def atleast_3d(*tensors):
    """Each tensor with at least 3 dims, as NumPy: () -> (1, 1, 1), (n,) -> (1, n, 1),
    (m, n) -> (m, n, 1)."""
    return _atleast("atleast_3d", 3, tensors)


def hstack(tensors):
    """Tensors joined column-wise: along dim 0 if all are 1-d, else dim 1."""
    ts = atleast_1d(tensor_list("hstack", tensors))
    return cat(list(ts), 0 if ts[0].ndim == 1 else 1)


def vstack(tensors):
    """Tensors joined row-wise (dim 0) after ``atleast_2d``; ``row_stack`` is the same."""
    return cat(list(atleast_2d(tensor_list("vstack", tensors))), 0)


row_stack = vstack


def dstack(tensors):
    """Tensors joined depth-wise (dim 2) after ``atleast_3d``."""
    return cat(list(atleast_3d(tensor_list("dstack", tensors))), 2)


def column_stack(tensors):
    """Tensors joined as columns (dim 1): 0-d and 1-d ones become columns of shape (n, 1)."""
    ts = [as_tensor(t, op="column_stack") for t in tensor_list("column_stack", tensors)]
    return cat([reshape(t, (math.prod(t.shape), 1)) if t.ndim <= 1 else t for t in ts], 1)


def ravel(input):
    """``input`` flattened to 1-d (a view where the backend can)."""
    return reshape(as_tensor(input, op="ravel"), (-1,))


def select(input, dim, index):
    """The slice of ``input`` at ``index`` along ``dim`` (that dim removed), as
    ``torch.select``: ``input[:, index]`` for dim 1; a view, differentiable."""
    x = as_tensor(input, op="select")
    if x.ndim == 0:
        raise IndexError("select: cannot be applied to a 0-dim tensor")
    d = _axis("select", dim, x.ndim)
    n = x.shape[d]
    if isinstance(index, TensorBase) and math.prod(index.shape) == 1 and \
            index.xp.isdtype(index.dtype, "integral"):
        index = int(index.item())  # PyTorch takes a one-element integer tensor: one host read
    if isinstance(index, bool) or not isinstance(index, (int, B.np.integer)):
        raise TypeError(f"select: index must be an int, got {type(index).__name__}")
    if not -n <= index < n:
        raise IndexError(f"select: index {index} out of range for tensor of size {x.shape} at "
                         f"dimension {d}")
    return getitem(x, (slice(None),) * d + (int(index),))


def block_diag(*tensors):
    """A block-diagonal matrix of the given 0-d, 1-d or 2-d tensors (a 0-d one is (1, 1), a
    1-d one a row), zeros elsewhere, in their promoted dtype, as ``torch.block_diag``.
    Differentiable in every block."""
    if not tensors:
        raise ValueError("block_diag: expected at least one tensor (xpnn needs one to know "
                         "the backend)")
    ts = _joinable("block_diag", list(tensors))
    for i, t in enumerate(ts):
        if t.ndim > 2:
            raise ShapeError(f"block_diag: input tensors must have 2 or fewer dimensions. "
                             f"Input {i} has {t.ndim} dimensions")
    ts = [reshape(t, (1, math.prod(t.shape))) if t.ndim < 2 else t for t in ts]
    width = sum(t.shape[1] for t in ts)
    xp, be, dt = ts[0].xp, ts[0]._be, ts[0].dtype
    rows, left = [], 0
    for t in ts:
        r, c = t.shape
        pad = [t._result(xp.zeros((r, left), dtype=dt, device=be.device), be), t,
               t._result(xp.zeros((r, width - left - c), dtype=dt, device=be.device), be)]
        rows.append(cat(pad, 1))
        left += c
    return cat(rows, 0)


def cartesian_prod(*tensors):
    """The Cartesian product of 1-d tensors: (prod of sizes, N) rows, the last tensor
    varying fastest (a single tensor comes back as it is), as ``torch.cartesian_prod``."""
    ts = _tensors("cartesian_prod", tensors)
    for i, t in enumerate(ts):
        if t.ndim != 1:
            raise ShapeError(f"cartesian_prod: expect a 1D vector, but got shape {t.shape} for "
                             f"tensor {i}")
    if len(ts) == 1:
        return ts[0]
    grids = meshgrid(*_joinable("cartesian_prod", ts), indexing="ij")
    return stack([reshape(g, (-1,)) for g in grids], 1)


def combinations(input, r=2, with_replacement=False):
    """The length-``r`` combinations of a 1-d tensor's entries in order, as rows of an
    (n choose r, r) tensor (``itertools.combinations``, or
    ``combinations_with_replacement``), as ``torch.combinations``. ``r=0`` gives an empty
    1-d tensor. The positions depend only on sizes (no read of the data); differentiable."""
    x = as_tensor(input, op="combinations")
    if x.ndim != 1:
        raise ShapeError(f"combinations: expect a 1D vector, but got shape {x.shape}")
    if isinstance(r, bool) or not isinstance(r, int) or r < 0:
        raise ArgumentError(f"combinations: r must be a non-negative int, got {r!r}")
    pick = itertools.combinations_with_replacement if with_replacement else \
        itertools.combinations
    rows = list(pick(range(x.shape[0]), r))
    idx = x._be.asarray(B.np.asarray(rows, dtype=B.np.int64).reshape(-1))
    if r == 0:
        return take(x, idx, axis=0)
    return reshape(take(x, idx, axis=0), (len(rows), r))


def windows(input, dimension, size, step):
    """Every slice of length ``size`` along ``dimension``, ``step`` apart, as a new last dim
    (``torch.Tensor.unfold``; not ``F.unfold``, which is im2col): dim ``dimension`` becomes
    (len - size) // step + 1 long. One take of the windows' positions, so overlapping
    windows add their gradients."""
    from .indexing import Take
    from .shape import movedim
    op = "unfold"
    x = as_tensor(input, op=op)
    d = _axis(op, dimension, max(x.ndim, 1))
    length = x.shape[d] if x.ndim else 1
    for name, v in (("size", size), ("step", step)):
        if isinstance(v, bool) or not isinstance(v, int):
            raise TypeError(f"{op}: {name} must be an int, got {type(v).__name__} {v!r}")
        if v < (0 if name == "size" else 1):  # PyTorch raises RuntimeError: both here
            raise ArgumentError(f"{op}: {name} must be an int >= "
                                f"{0 if name == 'size' else 1}, got {v!r}")
    if size > length:
        raise RuntimeError(f"{op}: maximum size for tensor at dimension {d} is {length} but "
                           f"size is {size}")
    scalar = x.ndim == 0  # PyTorch: a 0-d tensor's one window is (size,)
    if scalar:
        x = reshape(x, (1,))
    xp, n = x.xp, (length - size) // step + 1
    starts = xp.arange(n, dtype=xp.int64, device=x._be.device) * step
    pos = xp.reshape(starts[:, None] + xp.arange(size, dtype=xp.int64, device=x._be.device),
                     (-1,))
    y = Take.apply(x, indices=pos, axis=d)
    if scalar:
        return reshape(y, (size,))
    y = reshape(y, tuple(x.shape[:d]) + (n, size) + tuple(x.shape[d + 1:]))
    return movedim(y, d + 1, y.ndim - 1)
