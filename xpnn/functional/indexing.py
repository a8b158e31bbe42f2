"""Indexing: ``x[key]`` and ``x[key] = v`` with PyTorch's meaning on every backend, ``take``,
``index_select``, and the scatter-add that their backward needs.

The Array API allows less than NumPy and PyTorch: every axis must be indexed (``x[0, ...]``,
not ``x[0]``), integer arrays may not mix with slices, and there is no scatter-add. So a key is
first normalized once (:func:`parse_key`): negative and Python-list indices resolved, the
Ellipsis expanded, boolean masks turned into integer arrays. Then ``x[key]`` runs as at most
two differentiable steps, as PyTorch reads it:

1. the basic part (ints, slices, None) as one strided view, :class:`BasicIndex`;
2. the integer arrays as one gather along one (merged) axis, :class:`Take`, whose backward
   adds repeated indices up (``x[[0, 0]]`` sends two gradients to row 0).

The scatter-add is in scatter_kernels.py (native where the backend has one, else a chunked
one-hot matmul).
"""
from __future__ import annotations

import math

from .. import backend as B
from ..autograd import Function, TensorBase, as_tensor, link_view
from ..autograd.placed import Placed
from .._errors import ArgumentError, DtypeError, IndexRangeError, IndexShapeError, ShapeError
from .first_order import link
from .shape import _axis, permute, reshape
from .index_key import (  # noqa: F401  (re-exported)
    _IndexTypeError, _Key, _int_array, _is_bool, _is_trivial, _wrap_negative, parse_key)
from .scatter_kernels import (INDEX_ADD, _ONEHOT_BUDGET, index_add,  # noqa: F401  (re-exported)
                          index_add_portable)

# -- getitem ---------------------------------------------------------------------------------
class BasicIndex(Function):
    """Y = X[key] for a key of ints, slices and None covering every axis (a view)."""

    saved_inputs = ()
    placed_grads = True

    def forward(self, X, key=None):
        self.shape, self.key = X.shape, key
        return X[key]

    def backward_placed(self, dY):
        """dX as a Placed gradient (see xpnn/autograd/placed.py): pieces of one tensor
        meet in one array of zeros instead of one each."""
        return Placed(self.xp, self.shape, self.key, dY)

    def backward(self, dY):
        xp = self.xp
        dX = xp.zeros(self.shape, dtype=dY.dtype, device=dY.device)
        key = self.key
        if None in key:
            # the Array API allows None (a new axis) only when reading: assign through the
            # key without it, dropping those size-1 axes from dY
            key = tuple(k for k in key if k is not None)
            dY = xp.reshape(dY, tuple(dX[key].shape))
        dX[key] = dY
        return dX

    def backward_graph(self, dY):
        return BasicIndexGrad.apply(dY, shape=self.shape, key=self.key)


class BasicIndexGrad(Function):
    """BasicIndex's gradient as an op (recorded by its ``backward_graph``): dY placed at
    ``key`` in zeros of ``shape``; its own gradient reads ``key`` again."""

    saved_inputs = ()

    def forward(self, dY, shape=None, key=None):
        self.shape, self.key = shape, key
        return BasicIndex.backward(self, dY)  # reads only xp, shape and key

    def backward(self, dZ):
        return dZ[self.key]

    def backward_graph(self, dZ):
        return BasicIndex.apply(dZ, key=self.key)


class Take(Function):
    """Y = take(X, indices, axis); dX = scatter-add of dY (repeats add up).

    linked: the recorded gradient is linked to X (first_order.link), for the ops whose
    PyTorch backward node reads the input (reflect and replicate padding)."""

    saved_inputs = ()

    def forward(self, X, indices=None, axis=0, linked=False):
        self.shape, self.indices, self.axis = X.shape, indices, axis
        self.linked = linked
        return self.xp.take(X, indices, axis=axis)

    def backward(self, dY):
        dX = self.xp.zeros(self.shape, dtype=dY.dtype, device=dY.device)
        return index_add(self.be, dX, self.axis, self.indices, dY)

    def backward_graph(self, dY):
        dX = TakeGrad.apply(dY, shape=self.shape, indices=self.indices, axis=self.axis)
        return link(dX, self.inputs[0]) if self.linked else dX


class TakeGrad(Function):
    """Take's gradient as an op (recorded by its ``backward_graph``): dY added at
    ``indices`` along ``axis`` into zeros of ``shape``; its own gradient is the take."""

    saved_inputs = ()

    def forward(self, dY, shape=None, indices=None, axis=0):
        self.shape, self.indices, self.axis = shape, indices, axis
        return Take.backward(self, dY)  # reads only xp, be, shape, indices and axis

    def backward(self, dZ):
        return self.xp.take(dZ, self.indices, axis=self.axis)

    def backward_graph(self, dZ):
        return Take.apply(dZ, indices=self.indices, axis=self.axis)


def _gather(x, arrays):
    """``x`` indexed by integer arrays on some of its axes (after the basic part): one take
    along the merged axes; the result dims go where PyTorch and NumPy put them (in place of
    adjacent indexed axes, else first)."""
    xp = x.xp
    axes = [a for a, _, _ in arrays]
    shapes = [tuple(ix.shape) for _, ix, _ in arrays]
    try:
        B.np.broadcast_shapes(*shapes)
    except ValueError:  # torch: IndexError "shape mismatch: indexing tensors could not be ..."
        raise IndexShapeError(f"getitem: indexing tensors of shapes {shapes} could not be "
                              "broadcast together") from None
    idx = xp.broadcast_arrays(*[ix for _, ix, _ in arrays]) if len(arrays) > 1 else \
        [arrays[0][1]]
    bshape = tuple(idx[0].shape)
    adjacent = axes == list(range(axes[0], axes[0] + len(axes)))
    if not adjacent:  # bring the indexed axes to the front, in order
        rest = [a for a in range(x.ndim) if a not in axes]
        x = permute(x, axes + rest)
        axes = list(range(len(axes)))
    first = axes[0]
    sizes = [x.shape[a] for a in axes]
    flat = None
    for ix, n in zip(idx, sizes):  # row-major linear index over the indexed axes
        flat = ix if flat is None else flat * n + ix
    merged = x.shape[:first] + (math.prod(sizes),) + x.shape[first + len(axes):]
    if len(axes) > 1:
        x = reshape(x, merged)
    out = Take.apply(x, indices=xp.reshape(flat, (-1,)), axis=first)
    return reshape(out, merged[:first] + bshape + merged[first + 1:])


def getitem(x, key):
    """``x[key]`` with PyTorch's meaning (see the module doc); differentiable."""
    parsed = parse_key(x._be, x.shape, key)
    if not parsed.arrays:  # a view (see xpnn.tensor.write_back); integer arrays copy
        return link_view(x, BasicIndex.apply(x, key=parsed.basic), "key", key)
    if not _is_trivial(parsed.basic):
        x = BasicIndex.apply(x, key=parsed.basic)
    return _gather(x, parsed.arrays)


# -- setitem ---------------------------------------------------------------------------------
def _positions(be, shape, parsed):
    """The flat positions that ``key`` selects, laid out as ``x[key]`` would be."""
    xp = be.xp
    n = math.prod(shape)
    grid = xp.reshape(xp.arange(n, dtype=xp.int64, device=be.device), shape)
    if not _is_trivial(parsed.basic) or not parsed.arrays:
        grid = grid[parsed.basic]
    if parsed.arrays:
        grid = _gather(_Plain(grid, _be=be), parsed.arrays).array
    return grid


class _Plain(TensorBase):
    """A tensor without math methods, to run the indexing ops on raw arrays (positions in
    ``assign``, dV in ``SetItem.backward``) where no Tensor is at hand."""

    __slots__ = ()

    def _result(self, array, be, node=None, idx=0):
        return _Plain(array, _be=be)


def _broadcast_value(xp, V, shape):
    """The value of ``x[key] = V`` broadcast to the selection's ``shape`` (leading size-1
    dims of V dropped, as PyTorch), or a ShapeError naming both shapes."""
    vs = tuple(V.shape)
    while len(vs) > len(shape) and vs[0] == 1:
        vs = vs[1:]
    if len(vs) > len(shape) or any(a not in (1, b) for a, b in zip(vs[::-1], shape[::-1])):
        raise ShapeError(f"setitem: a value of shape {tuple(V.shape)} does not broadcast to "
                         f"the indexed shape {shape}")
    return xp.broadcast_to(V if vs == tuple(V.shape) else xp.reshape(V, vs), shape)


def assign(be, X, key, V):
    """X[key] = V on raw arrays, in place where the backend allows; returns the array that
    holds the result (X itself, or a new array where X could not be written)."""
    xp = be.xp
    parsed = parse_key(be, tuple(X.shape), key, "setitem")
    if not parsed.arrays:
        basic = parsed.basic
        target = X[basic]
        V = _broadcast_value(xp, V, tuple(target.shape))
        if None in basic:
            basic = tuple(k for k in basic if k is not None)
            V = xp.reshape(V, tuple(X[basic].shape))
        X[basic] = V
        return X
    pos = _positions(be, tuple(X.shape), parsed)
    V = xp.reshape(_broadcast_value(xp, V, tuple(pos.shape)), (-1,))
    pos = xp.reshape(pos, (-1,))
    flat = xp.asarray(xp.reshape(X, (-1,)), copy=True)
    if be.name in INDEX_ADD:  # NumPy, torch, CuPy assign through integer arrays
        flat[pos] = V
    elif not xp.isdtype(flat.dtype, ("real floating", "complex floating")):
        from .assign_portable import assign_exact  # integers, bools: no mean, no bool sums
        flat = assign_exact(be, flat, pos, V, index_add)
    else:  # the standard cannot: mark and fill the positions with scatter-adds
        hit = index_add(be, xp.zeros(flat.shape, dtype=V.dtype, device=be.device), 0, pos,
                        xp.ones(V.shape, dtype=V.dtype, device=be.device))
        summed = index_add(be, xp.zeros(flat.shape, dtype=V.dtype, device=be.device), 0, pos,
                           V)
        # repeated positions get the mean of their values (PyTorch leaves the order undefined)
        flat = xp.where(hit > 0, summed / xp.where(hit > 0, hit, 1), flat)
    X[...] = xp.reshape(flat, tuple(X.shape))
    return X


class SetItem(Function):
    """Y = X with Y[key] = V: the differentiable form of ``x[key] = v`` on a recorded
    tensor. dX = dY with the assigned positions zeroed; dV = dY[key] summed to V's shape."""

    saved_inputs = ()

    def forward(self, X, V, key=None):
        xp = self.xp
        self.key, self.v_shape = key, V.shape
        Y = xp.asarray(X, copy=True)
        return assign(self.be, Y, key, xp.astype(V, X.dtype))

    def backward(self, dY):
        from .elementwise import unbroadcast
        xp, be = self.xp, self.be
        dX = dV = None
        if self.needs[0]:
            dX = assign(be, xp.asarray(dY, copy=True), self.key,
                        xp.zeros((), dtype=dY.dtype, device=dY.device))
        if self.needs[1]:
            dV = getitem(_Plain(dY, _be=be), self.key).array
            lead = len(self.v_shape) - dV.ndim  # V had extra leading 1s (see _broadcast_value)
            if lead > 0:
                dV = xp.reshape(dV, (1,) * lead + tuple(dV.shape))
            dV = unbroadcast(xp, dV, self.v_shape)
        return dX, dV

    def backward_graph(self, dY):
        """dX = dY with the assigned positions zeroed (this op with a zero value), dV =
        dY[key] summed to V's shape: both recorded."""
        from .elementwise import unbroadcast_graph
        dX = dV = None
        if self.needs[0]:
            zero = dY._result(self.xp.zeros((), dtype=dY.dtype, device=self.be.device), dY._be)
            dX = SetItem.apply(dY, zero, key=self.key)
        if self.needs[1]:
            dV = getitem(dY, self.key)
            lead = len(self.v_shape) - dV.ndim  # V had extra leading 1s
            if lead > 0:
                dV = dV.reshape((1,) * lead + tuple(dV.shape))
            dV = unbroadcast_graph(dV, tuple(self.v_shape))
        return dX, dV


# -- take / index_select ------------------------------------------------------------------------
def take(input, index=None, axis=None, *, dim=None, indices=None):
    """Entries of ``input`` picked by an integer index array (repeats allowed, negatives
    count from the end); differentiable in ``input``. Without ``axis``, as ``torch.take``:
    ``input`` read as flattened, the result shaped like ``index``. With ``axis`` (or
    ``dim``), entries along that axis by a 1-D index, as the Array API's ``take`` and
    ``index_select``. ``indices=`` is the Array API's name of ``index``."""
    x = as_tensor(input, op="take")
    if (index is None) == (indices is None):
        raise TypeError("take: give the index once, as index (PyTorch's name) or indices "
                        "(the Array API's)")
    indices = index if indices is None else indices
    axis = axis if dim is None else dim
    if axis is None:  # PyTorch's take: the flat index of a contiguous x
        idx = _int_array(x._be, indices, "take")
        flat = take(reshape(x, (-1,)), x._be.xp.reshape(idx, (-1,)), axis=0)
        return reshape(flat, tuple(idx.shape))
    if x.ndim == 0:
        raise ValueError("take: expected a tensor with at least one dim, got a 0-d tensor")
    if not -x.ndim <= axis < x.ndim:
        raise IndexError(f"take: axis {axis} is out of range for a tensor of shape {x.shape}")
    axis %= x.ndim
    idx = _int_array(x._be, indices, "take")
    if not x.xp.isdtype(idx.dtype, "integral"):  # torch: RuntimeError
        raise DtypeError(f"take: index must be an integer tensor, got {B.dtype_name(idx.dtype)}")
    if idx.ndim != 1:
        raise IndexShapeError(f"take: indices must be 1-D, got shape {tuple(idx.shape)}")
    idx = _wrap_negative(x._be, idx, x.shape[axis], "take", axis)
    return Take.apply(x, indices=idx, axis=axis)


def masked_select(input, mask):
    """The entries of ``input`` where ``mask`` (broadcast together) is True, as a 1-D tensor
    (``torch.masked_select``); differentiable in ``input``."""
    from .shape import expand
    x = as_tensor(input, op="masked_select")
    m = as_tensor(mask, like=x, op="masked_select")
    if m.dtype != x.xp.bool:
        raise DtypeError(f"masked_select: mask must be bool, got {B.dtype_name(m.dtype)}")
    try:
        shape = B.np.broadcast_shapes(tuple(x.shape), tuple(m.shape))
    except ValueError:
        raise ShapeError(f"masked_select: input of shape {x.shape} and mask of shape {m.shape} "
                         "do not broadcast") from None
    return getitem(expand(x, shape), expand(m, shape).array)


def index_select(input, dim, index):
    """Rows (along ``dim``) of ``input`` picked by the 1-D integer ``index``, as
    ``torch.index_select``; a 0-d index picks one row, the dim kept)."""
    if isinstance(index, TensorBase) and index.ndim == 0:
        index = reshape(index, (1,))
    return take(input, index, axis=dim)


# -- pieces along one dim -----------------------------------------------------------------
def narrow(input, dim, start, length):
    """``length`` entries of dim ``dim`` from ``start`` (a view)."""
    x = as_tensor(input, op="narrow")
    d = _axis("narrow", dim, x.ndim)
    n = x.shape[d]
    start = start + n if start < 0 else start
    if not (0 <= start <= n and 0 <= length and start + length <= n):
        raise IndexRangeError(f"narrow: start {start} + length {length} exceeds dim {d} of "
                              f"size {n}")
    return getitem(x, (slice(None),) * d + (slice(start, start + length),))


def split(tensor, split_size_or_sections, dim=0):
    """Pieces along ``dim``: of size ``split_size`` each (the last may be smaller), or of the
    listed sizes, as ``torch.split``."""
    x = as_tensor(tensor, op="split")
    if x.ndim == 0:
        raise ShapeError("split: split expects at least a 1-dimensional tensor, got a 0-d one")
    d = _axis("split", dim, x.ndim)
    n = x.shape[d]
    if isinstance(split_size_or_sections, int):
        s = split_size_or_sections
        if s < 0 or s == 0 and n:  # (0 only where the dim is empty, as PyTorch)
            raise ArgumentError(f"split: split_size must be positive (0 only for an empty "
                                f"dim), got {s} for dim {d} of size {n}")
        sizes = [min(s, n - i) for i in range(0, n, s)] if s else []
        sizes = sizes or [0]
    else:
        sizes = list(split_size_or_sections)
        if sum(sizes) != n:
            raise ShapeError(f"split: sizes {sizes} do not sum to dim {d} of size {n}")
    out, start = [], 0
    for s in sizes:
        out.append(narrow(x, d, start, s))
        start += s
    return tuple(out)


def chunk(input, chunks, dim=0):
    """``chunks`` pieces of (nearly) equal size along ``dim``, as ``torch.chunk``."""
    x = as_tensor(input, op="chunk")
    if x.ndim == 0:
        raise ShapeError("chunk: chunk expects at least a 1-dimensional tensor, got a 0-d one")
    if chunks <= 0:
        raise ArgumentError(f"chunk: chunks must be positive, got {chunks}")
    d = _axis("chunk", dim, x.ndim)
    n = x.shape[d]
    if n == 0:  # PyTorch: ``chunks`` empty pieces
        return tuple(getitem(x, (slice(None),) * d + (slice(0, 0),)) for _ in range(chunks))
    return split(x, -(-n // chunks), dim)


def unbind(input, dim=0):
    x = as_tensor(input, op="unbind")
    d = _axis("unbind", dim, x.ndim)
    return tuple(getitem(x, (slice(None),) * d + (i,)) for i in range(x.shape[d]))
