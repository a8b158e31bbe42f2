"""Gather and scatter along a dim (``torch.gather``, ``scatter``, ``scatter_add``) and
``one_hot``.

An index tensor has the input's number of dims and at most its size in every dim but
``dim``; entry ``index[i, j, k]`` names a position along ``dim``. Each op turns the index into
flat positions in the input once (:func:`flat_positions`), so the forward is one take or one
write on a 1-D view and the backward the matching scatter-add or take: gather's backward is a
scatter-add of the gradient, scatter-add's is a gather.
"""
from __future__ import annotations

import math

from .. import backend as B
from ..autograd import Function, TensorBase, as_tensor, raw
from .gather_portable import add_along, set_along, supports
from .indexing import INDEX_ADD, assign, index_add
from .._errors import ArgumentError, DtypeError, IndexRangeError, ShapeError
from .shape import _axis
from .transfer import to


def flat_positions(xp, shape, dim, index):
    """Row-major positions in an array of ``shape`` of the entries ``index`` names along
    ``dim`` (the other coordinates being the index entry's own), shaped like ``index``."""
    strides = [math.prod(shape[a + 1:]) for a in range(len(shape))]
    pos = index * strides[dim]
    for a, n in enumerate(index.shape):
        if a != dim and n > 1:
            view = (1,) * a + (n,) + (1,) * (index.ndim - a - 1)
            ar = xp.reshape(xp.arange(n, dtype=index.dtype, device=index.device), view)
            pos = pos + ar * strides[a]
    return pos


def _take_flat(xp, X, pos):
    return xp.reshape(xp.take(xp.reshape(X, (-1,)), xp.reshape(pos, (-1,)), axis=0),
                      tuple(pos.shape))


def _into(xp, G, shape):
    """G (a corner of ``shape``) placed in zeros of ``shape``: src may be larger than index."""
    if tuple(G.shape) == tuple(shape):
        return G
    out = xp.zeros(shape, dtype=G.dtype, device=G.device)
    out[tuple(slice(0, n) for n in G.shape)] = G
    return out


class FlatPositions(Function):
    """:func:`flat_positions` of an int64 index Tensor as a recorded op (no gradient), so
    that an ONNX export computes gather's positions from the index in the graph."""

    differentiable = False

    def forward(self, index, shape=(), dim=0):
        return flat_positions(self.xp, shape, dim, index)


def _along_dim(op, shape, A, add=True):
    """The index along ``op.dim`` (int64, like ``op.pos``) where ``op`` (a Gather or Scatter
    node on an array of ``shape``) should write along its dim with gather_portable.py (a
    backend with no native scatter-add, a dim given, ``A``'s dtype taken by the add or, with
    ``add=False``, the write); else None. The index is read back from the flat positions,
    so that no array argument is added to the op (an ONNX export reads its arguments)."""
    dim = getattr(op, "dim", None)
    if dim is None or op.be.name in INDEX_ADD or not supports(op.be, A, add):
        return None
    return (op.pos // math.prod(shape[dim + 1:])) % shape[dim]


class Gather(Function):
    """Y = X at ``pos`` (flat positions); dX = scatter-add of dY. ``dim``, the dim that
    ``pos`` came from (where one did), lets a backend without a native scatter-add scatter
    along it (gather_portable.py) instead of over the flat array."""

    saved_inputs = ()

    def forward(self, X, pos=None, dim=None):
        self.shape, self.pos, self.dim = X.shape, pos, dim
        return _take_flat(self.xp, X, pos)

    def backward(self, dY):
        xp = self.xp
        index = _along_dim(self, self.shape, dY)
        if index is not None:
            zeros = xp.zeros(self.shape, dtype=dY.dtype, device=dY.device)
            return add_along(self.be, zeros, self.dim, index, dY)
        flat = xp.zeros((math.prod(self.shape),), dtype=dY.dtype, device=dY.device)
        flat = index_add(self.be, flat, 0, xp.reshape(self.pos, (-1,)), xp.reshape(dY, (-1,)))
        return xp.reshape(flat, self.shape)

    def backward_graph(self, dY):
        return GatherGrad.apply(dY, shape=self.shape, pos=self.pos, dim=self.dim)


class GatherGrad(Function):
    """Gather's gradient as an op (recorded by its ``backward_graph``): dY added at ``pos``
    into zeros of ``shape``; its own gradient is the gather at ``pos``."""

    saved_inputs = ()

    def forward(self, dY, shape=None, pos=None, dim=None):
        self.shape, self.pos, self.dim = shape, pos, dim
        return Gather.backward(self, dY)  # reads only xp, be, shape, pos and dim

    def backward(self, dZ):
        return _take_flat(self.xp, dZ, self.pos)

    def backward_graph(self, dZ):
        return Gather.apply(dZ, pos=self.pos, dim=self.dim)


class Scatter(Function):
    """Y = X with Y[pos] = S (add=False) or Y[pos] += S (add=True); S is src's corner of
    index's shape. dX = dY (zeroed at pos when writing); dsrc = dY at pos."""

    saved_inputs = ()

    def forward(self, X, Src, pos=None, add=False, dim=None):
        xp = self.xp
        self.pos, self.add, self.src_shape, self.dim = pos, add, Src.shape, dim
        S = Src[tuple(slice(0, n) for n in pos.shape)]
        S = S if S.dtype == X.dtype else xp.astype(S, X.dtype)
        index = _along_dim(self, X.shape, X, add)
        if index is not None:
            return (add_along if add else set_along)(self.be, X, dim, index, S)
        S = xp.reshape(S, (-1,))
        flat = xp.reshape(xp.asarray(X, copy=True), (-1,))
        p = xp.reshape(pos, (-1,))
        flat = index_add(self.be, flat, 0, p, S) if add else assign(self.be, flat, (p,), S)
        return xp.reshape(flat, X.shape)

    def backward(self, dY):
        xp, be = self.xp, self.be
        dX = dS = None
        if self.needs[0]:
            dX = dY
            index = None if self.add else _along_dim(self, dY.shape, dY, add=False)
            if index is not None:
                dX = set_along(be, dY, self.dim, index,
                               xp.zeros(self.pos.shape, dtype=dY.dtype, device=dY.device))
            elif not self.add:  # written positions lost the input's value
                flat = xp.reshape(xp.asarray(dY, copy=True), (-1,))
                flat = assign(be, flat, (xp.reshape(self.pos, (-1,)),),
                              xp.zeros((), dtype=dY.dtype, device=dY.device))
                dX = xp.reshape(flat, dY.shape)
        if self.needs[1]:
            dS = _into(xp, _take_flat(xp, dY, self.pos), self.src_shape)
        return dX, dS

    def backward_graph(self, dY):
        """dX: dY (zeroed at pos when writing, by the same scatter of zeros); dsrc: the
        gather of dY at pos, padded with zeros to src's shape; recorded."""
        from .padding import pad
        xp, pos = self.xp, self.pos
        dX = dS = None
        if self.needs[0]:
            dX = dY
            if not self.add:
                zeros = dY._result(xp.zeros(pos.shape, dtype=dY.dtype, device=dY.device),
                                   self.be)
                dX = Scatter.apply(dY, zeros, pos=pos, add=False, dim=self.dim)
        if self.needs[1]:
            dS = Gather.apply(dY, pos=pos, dim=self.dim)
            if tuple(dS.shape) != tuple(self.src_shape):
                widths = [w for n, m in zip(reversed(dS.shape), reversed(self.src_shape))
                          for w in (0, m - n)]
                dS = pad(dS, widths)
        return dX, dS


def _index(op, x, dim, index, src_shape=None):
    """(dim as an int >= 0, the index as an int64 array of x's backend), checked as
    PyTorch checks them."""
    d = _axis(op, dim, x.ndim)
    idx = raw(index, x, op, "index")
    xp = x.xp
    if not xp.isdtype(idx.dtype, "integral"):
        raise DtypeError(f"{op}: index must be an integer tensor, got {B.dtype_name(idx.dtype)}")
    if idx.ndim != x.ndim and not (idx.ndim <= 1 and x.ndim <= 1):
        raise ShapeError(f"{op}: index of shape {tuple(idx.shape)} must have as many dims as "
                         f"the input of shape {x.shape}")
    idx = xp.reshape(idx, (1,) * (x.ndim - idx.ndim) + tuple(idx.shape)) if idx.ndim < x.ndim \
        else idx
    for a, n in enumerate(idx.shape):
        if a != d and n > x.shape[a]:
            raise ShapeError(f"{op}: index of shape {tuple(idx.shape)} is larger than the "
                             f"input of shape {x.shape} in dim {a} (only dim {d} may differ)")
        if src_shape is not None and n > src_shape[a]:
            raise ValueError(f"{op}: index of shape {tuple(idx.shape)} is larger than src of "
                             f"shape {src_shape} in dim {a}")
    n = x.shape[d] if x.ndim else 1
    if x._be.on_host and math.prod(idx.shape):  # a device would have to sync to check
        lo, hi = int(xp.min(idx)), int(xp.max(idx))
        if lo < 0 or hi >= n:
            raise IndexRangeError(f"{op}: index {lo if lo < 0 else hi} is out of bounds for "
                                  f"dim {d} with size {n}")
    return d, xp.astype(idx, xp.int64)


def gather(input, dim, index, *, sparse_grad=False):
    """out[i][j][k] = input[index[i][j][k]][j][k] (for dim 0), as ``torch.gather``.

    Args:
        input: any tensor.
        dim: the dim that ``index`` indexes.
        index: int tensor with input's number of dims and at most its size in the others.
    Returns:
        index's shape, input's dtype; differentiable in input (repeats add up).
    """
    x = as_tensor(input, op="gather")
    d, idx = _index("gather", x, dim, index)
    shape = x.shape if x.ndim else (1,)
    if isinstance(index, TensorBase) and index.ndim == x.ndim >= 1:
        # recorded (the cast too), so an ONNX export follows the index
        pos = FlatPositions.apply(index if index.dtype == x.xp.int64 else
                                  to(index, dtype="int64"), shape=tuple(shape), dim=d).array
    else:
        pos = flat_positions(x.xp, shape, d, idx)
    return Gather.apply(x, pos=pos, dim=d if x.ndim else None)


def _src(op, x, src, value):
    if src is None and value is None:
        raise TypeError(f"{op}: expected src (a tensor) or value (a number)")
    if src is None or isinstance(src, (int, float, bool)):
        v = value if src is None else src
        if not x._be.is_floating(x.dtype):
            v = bool(v) if x.dtype == x.xp.bool else int(v)
        return x._result(x.xp.full(x.shape, v, dtype=x.dtype, device=x._be.device), x._be)
    s = as_tensor(src, like=x, op=op)
    if s._be is x._be and s.dtype != x.dtype:
        raise DtypeError(f"{op}: src dtype {B.dtype_name(s.dtype)} differs from the input's "
                         f"{B.dtype_name(x.dtype)}")
    return s


def scatter(input, dim, index, src=None, value=None, *, reduce=None):
    """A copy of ``input`` with out[index[i][j]][j] = src[i][j] (for dim 0), as
    ``torch.scatter``; ``src`` may be a number. Where ``index`` repeats a position, which
    value lands is unspecified (as in PyTorch). ``reduce="add"`` is :func:`scatter_add`
    (``"multiply"`` is handled by scatter_reduction.scatter, the public one).

    Returns:
        input's shape and dtype; differentiable in input and src.
    """
    if reduce == "add":
        return scatter_add(input, dim, index, _src("scatter", as_tensor(input, op="scatter"),
                                                   src, value))
    if reduce is not None:
        raise ArgumentError(f"scatter: reduce={reduce!r} is not supported (None, 'add' or "
                            "'multiply')")
    x = as_tensor(input, op="scatter")
    s = _src("scatter", x, src, value)
    d, idx = _index("scatter", x, dim, index, s.shape if s.ndim == x.ndim else None)
    return Scatter.apply(x, s, pos=flat_positions(x.xp, x.shape, d, idx), add=False,
                         dim=d if x.ndim else None)


def scatter_add(input, dim, index, src):
    """A copy of ``input`` with out[index[i][j]][j] += src[i][j] (for dim 0); repeated
    positions add up. Differentiable in input and src."""
    x = as_tensor(input, op="scatter_add")
    s = _src("scatter_add", x, src, None)
    d, idx = _index("scatter_add", x, dim, index, s.shape if s.ndim == x.ndim else None)
    return Scatter.apply(x, s, pos=flat_positions(x.xp, x.shape, d, idx), add=True,
                         dim=d if x.ndim else None)


def one_hot(input, num_classes=-1):
    """(*) int64 class indices -> (*, num_classes) int64 one-hot rows (no gradient).

    ``num_classes=-1`` takes the largest index + 1 (a read of the data, as in PyTorch).
    """
    t = as_tensor(input, op="one_hot")
    xp, be = t.xp, t._be
    if not xp.isdtype(t.dtype, "integral"):
        raise DtypeError(f"one_hot: expected an integer tensor of class indices, got "
                         f"{B.dtype_name(t.dtype)}")
    size = math.prod(t.shape)
    if num_classes == -1 or be.on_host:
        lo = int(xp.min(t.array)) if size else 0
        hi = int(xp.max(t.array)) if size else -1
        if lo < 0:
            raise ArgumentError(f"one_hot: class values must be non-negative, got {lo}")
        if num_classes == -1 and not size:  # PyTorch: nothing to count the classes from
            raise ArgumentError("one_hot: cannot infer num_classes from an empty tensor; "
                                "pass num_classes")
        if num_classes == -1:
            num_classes = hi + 1
        elif hi >= num_classes:
            raise ArgumentError(f"one_hot: class values must be smaller than num_classes "
                                f"{num_classes}, got {hi}")
    classes = xp.arange(num_classes, dtype=t.dtype, device=be.device)
    return t._result(xp.astype(t.array[..., None] == classes, xp.int64), be)
