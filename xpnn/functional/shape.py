"""Shape ops: reshape, permute, concat/stack/split, expand, and moving between backends.

Each checks its shapes at the boundary and names itself in the error, so a mistake reads the
same on every backend.
"""
from __future__ import annotations

import math

from .. import backend as B
from ..autograd import Function, TensorBase, as_tensor, link_view
from .scalar_args import int_arg
from .elementwise import promote, unbroadcast, unbroadcast_graph
from .._errors import ArgumentError, ShapeError
from .transfer import to  # noqa: F401  (one of shape's public names)
from .. import autograd as _autograd  # not autograd.function_base: that closes a cycle


def _exporting():
    """True while xpnn.onnx traces: a reshape or expand that is the identity at the traced
    size (expand(B, -1, -1) of a (1, 1, D) at batch 1) is still recorded, so the traces at
    other sizes run the same ops and the graph keeps the op that sizes it."""
    return getattr(_autograd._tracer, "exporting", False)


def _sizes(op, args, name, value):
    """The sizes a shape method was given either way PyTorch takes them: as arguments
    (``x.reshape(2, 3)``, ``x.reshape((2, 3))``) or by keyword (``x.reshape(shape=(2, 3))``,
    as MAE's patchify writes it)."""
    if value is None:
        return args
    if args:
        raise TypeError(f"{op}(): got multiple values for argument '{name}'")
    return (value,)


def _dims(op, args):
    """Dims given as f(x, 2, 3) or f(x, (2, 3)) -> a tuple of ints."""
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        args = tuple(args[0])
    args = tuple(int_arg(a) for a in args)
    for a in args:
        if isinstance(a, bool) or not isinstance(a, (int, B.np.integer)):
            raise TypeError(f"{op}: expected ints, got {args!r}")
    return tuple(int(a) for a in args)


def _axis(op, axis, ndim):
    """A dim in [-ndim, ndim) as a non-negative int (0 for a 0-d tensor's dim -1 or 0)."""
    n, axis = max(ndim, 1), int_arg(axis)
    if isinstance(axis, bool) or not isinstance(axis, (int, B.np.integer)):
        raise TypeError(f"{op}: dim must be an int, got {axis!r}")
    if not -n <= axis < n:
        raise IndexError(f"{op}: dim {axis} is out of range for a tensor with {ndim} dims "
                         f"(expected in [{-n}, {n - 1}])")
    return int(axis) % n


class Reshape(Function):
    saved_inputs = ()

    def forward(self, X, shape=None):
        self.shape = X.shape
        return self.xp.reshape(X, shape)

    def backward(self, dY):
        return self.xp.reshape(dY, self.shape)

    def backward_graph(self, dY):
        return dY.reshape(self.shape)


class Permute(Function):
    saved_inputs = ()

    def forward(self, X, axes=None):
        self.axes = axes
        return self.xp.permute_dims(X, axes)

    def backward(self, dY):
        inverse = [0] * len(self.axes)
        for i, a in enumerate(self.axes):
            inverse[a] = i
        return self.xp.permute_dims(dY, tuple(inverse))

    def backward_graph(self, dY):
        inverse = [0] * len(self.axes)
        for i, a in enumerate(self.axes):
            inverse[a] = i
        return dY.permute(*inverse)


class Expand(Function):
    saved_inputs = ()

    def forward(self, X, shape=None):
        self.shape = X.shape
        if math.prod(shape) == math.prod(X.shape):  # only new dims of size 1: a reshape,
            return self.xp.reshape(X, shape)  # writable memory of X (broadcast_to's is not)
        return self.xp.broadcast_to(X, shape)

    def backward(self, dY):
        return unbroadcast(self.xp, dY, self.shape)

    def backward_graph(self, dY):
        return unbroadcast_graph(dY, self.shape)


class Concat(Function):
    saved_inputs = ()

    def forward(self, *Xs, axis=0):
        self.axis = axis
        self.sizes = [X.shape[axis] for X in Xs]
        return self.xp.concat(Xs, axis=axis)

    def backward(self, dY):
        out, start = [], 0
        for n in self.sizes:
            # the trailing Ellipsis: the Array API wants every axis indexed
            out.append(dY[(slice(None),) * self.axis + (slice(start, start + n), ...)])
            start += n
        return tuple(out)

    def backward_graph(self, dY):
        out, start = [], 0
        for n in self.sizes:
            out.append(dY[(slice(None),) * self.axis + (slice(start, start + n), ...)])
            start += n
        return tuple(out)


class Stack(Function):
    saved_inputs = ()

    def forward(self, *Xs, axis=0):
        self.axis = axis
        return self.xp.stack(Xs, axis=axis)

    def backward(self, dY):
        n = dY.shape[self.axis]
        return tuple(dY[(slice(None),) * self.axis + (i, ...)] for i in range(n))

    def backward_graph(self, dY):
        return self.backward(dY)  # the same indexing, on a Tensor: recorded


# -- public functions --------------------------------------------------------------------
def reshape(input, *args, shape=None):
    """``input`` with a new shape of the same size (one dim may be -1); a view where the
    backend can make one. ``view`` is the same function."""
    x = as_tensor(input, op="reshape")
    shape = _dims("reshape", _sizes("reshape", args, "shape", shape))
    size = math.prod(x.shape)
    if shape.count(-1) > 1 or any(d < -1 for d in shape):
        raise ShapeError(f"reshape: invalid shape {shape} (at most one -1, no other negatives)")
    if -1 in shape:
        known = math.prod(d for d in shape if d != -1)
        if known == 0 or size % known:
            raise ShapeError(f"reshape: shape {shape} is invalid for input of shape {x.shape} "
                             f"(size {size})")
        shape = tuple(size // known if d == -1 else d for d in shape)
    if math.prod(shape) != size:
        raise ShapeError(f"reshape: shape {shape} is invalid for input of shape {x.shape} "
                         f"(size {size})")
    if shape == x.shape and not _exporting():
        return x
    return link_view(x, Reshape.apply(x, shape=shape), "reshape", None)  # tensor.write_back


view = reshape


def flatten(input, start_dim=0, end_dim=-1):
    """Merge dims start_dim..end_dim into one (``torch.flatten``; 0-d becomes 1-d)."""
    x = as_tensor(input, op="flatten")
    if x.ndim == 0:
        _axis("flatten", start_dim, 0), _axis("flatten", end_dim, 0)  # -1 or 0, as PyTorch
        return reshape(x, (1,))
    s, e = _axis("flatten", start_dim, x.ndim), _axis("flatten", end_dim, x.ndim)
    if s > e:
        raise ArgumentError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim}")
    shape = x.shape
    return reshape(x, shape[:s] + (math.prod(shape[s:e + 1]),) + shape[e + 1:])


def unflatten(input, dim, sizes):
    """Split dim ``dim`` into ``sizes`` (one may be -1), as ``torch.unflatten``."""
    x = as_tensor(input, op="unflatten")
    d = _axis("unflatten", dim, x.ndim)
    sizes = _dims("unflatten", (sizes,))
    if -1 in sizes:
        known = math.prod(s for s in sizes if s != -1)
        sizes = tuple(x.shape[d] // known if s == -1 else s for s in sizes)
    if math.prod(sizes) != x.shape[d]:
        raise ShapeError(f"unflatten: sizes {sizes} do not multiply to dim {dim} of size "
                         f"{x.shape[d]} (input shape {x.shape})")
    return reshape(x, x.shape[:d] + sizes + x.shape[d + 1:])


def permute(input, *args, dims=None):
    """The dims of ``input`` reordered (``torch.permute``; ``permute_dims`` in the Array
    API)."""
    x = as_tensor(input, op="permute")
    dims = _dims("permute", _sizes("permute", args, "dims", dims))
    if len(dims) == x.ndim:  # each dim in range first (torch: IndexError), so 5 is not 2
        dims = tuple(_axis("permute", d, x.ndim) for d in dims)
    if len(dims) != x.ndim or sorted(d % max(x.ndim, 1) for d in dims) != list(range(x.ndim)):
        raise ShapeError(f"permute: dims {dims} are not a permutation of the {x.ndim} dims of "
                         f"a tensor of shape {x.shape}")
    dims = tuple(d % x.ndim for d in dims)
    if dims == tuple(range(x.ndim)):
        return x
    return link_view(x, Permute.apply(x, axes=dims), "permute", dims)  # tensor.write_back


permute_dims = permute


def transpose(input, dim0=-2, dim1=-1):
    """Swap two dims (by default the last two)."""
    x = as_tensor(input, op="transpose")
    if x.ndim < 2:
        return x
    axes = list(range(x.ndim))
    a, b = _axis("transpose", dim0, x.ndim), _axis("transpose", dim1, x.ndim)
    axes[a], axes[b] = axes[b], axes[a]
    return permute(x, axes)


swapaxes = swapdims = transpose


def t(input):
    """Transpose of a tensor with at most 2 dims (``torch.t``)."""
    x = as_tensor(input, op="t")
    if x.ndim > 2:
        raise ShapeError(f"t: expects a tensor with <= 2 dims, got shape {x.shape}")
    return transpose(x, 0, -1) if x.ndim == 2 else x


def movedim(input, source, destination):
    """Dims ``source`` (an int or a sequence) moved to positions ``destination``, the other
    dims keeping their order (``torch.movedim``)."""
    x = as_tensor(input, op="movedim")
    many = isinstance(source, (tuple, list))
    if many != isinstance(destination, (tuple, list)) or (many and len(source) !=
                                                           len(destination)):
        raise ShapeError(f"movedim: source {source!r} and destination {destination!r} must "
                         "both be ints or sequences of the same length")
    src = [_axis("movedim", d, x.ndim) for d in (source if many else (source,))]
    dst = [_axis("movedim", d, x.ndim) for d in (destination if many else (destination,))]
    if len(set(src)) != len(src) or len(set(dst)) != len(dst):
        raise ShapeError(f"movedim: repeated dim in source {source!r} or destination "
                         f"{destination!r}")
    rest = iter(d for d in range(x.ndim) if d not in src)
    placed = dict(zip(dst, src))
    return permute(x, [placed[i] if i in placed else next(rest) for i in range(x.ndim)])


moveaxis = movedim


def unsqueeze(input, dim):
    x = as_tensor(input, op="unsqueeze")
    d = _axis("unsqueeze", dim, x.ndim + 1)
    return reshape(x, x.shape[:d] + (1,) + x.shape[d:])


expand_dims = unsqueeze


def squeeze(input, dim=None):
    """Drop dims of size 1 (all of them, or those named by ``dim``, an int or tuple; a named
    dim of another size is kept, as in PyTorch)."""
    x = as_tensor(input, op="squeeze")
    if dim is None:
        return reshape(x, tuple(d for d in x.shape if d != 1))
    dims = dim if isinstance(dim, (tuple, list)) else (dim,)
    drop = {_axis("squeeze", d, x.ndim) for d in dims}
    return reshape(x, tuple(n for i, n in enumerate(x.shape) if not (i in drop and n == 1)))


def expand(input, *sizes):
    """A broadcast view of ``input`` with the given sizes (-1 keeps a dim)."""
    x = as_tensor(input, op="expand")
    sizes = _dims("expand", sizes)
    lead = len(sizes) - x.ndim
    if lead < 0:
        raise ShapeError(f"expand: {len(sizes)} sizes for a tensor with {x.ndim} dims")
    shape = []
    for i, s in enumerate(sizes):
        own = x.shape[i - lead] if i >= lead else None
        if s == -1:
            if own is None:
                raise ShapeError(f"expand: -1 is not allowed for a new leading dim ({sizes})")
            s = own
        if own is not None and own not in (1, s):
            raise ShapeError(f"expand: the size of dim {i - lead} ({own}) must match {s} or be "
                             f"1 (input shape {x.shape}, sizes {sizes})")
        shape.append(s)
    shape = tuple(shape)
    if shape == x.shape and not _exporting():
        return x
    overlap = math.prod(shape) > math.prod(x.shape)  # see xpnn.tensor.write_back
    if _exporting():
        # a size-1 (or new) dim given a size overlaps at any size but 1: the same kind of
        # view at every traced size, so .contiguous() copies in all traces or in none
        overlap = overlap or any(s != -1 and (i < lead or x.shape[i - lead] == 1)
                                 for i, s in enumerate(sizes))
    return link_view(x, Expand.apply(x, shape=shape), "overlap" if overlap else "reshape", None)


broadcast_to = expand


def tile(input, dims):
    """``input`` repeated along each dim (``torch.tile``; ``Tensor.repeat`` with all dims):
    a broadcast view reshaped, so the gradient sums the copies, then copied: as PyTorch's,
    the result is a new, writable tensor that shares no memory with ``input``."""
    x = as_tensor(input, op="tile")
    reps = _dims("tile", (dims,))
    if any(r < 0 for r in reps):
        raise ArgumentError(f"tile: repeats must be non-negative, got {reps}")
    n = max(len(reps), x.ndim)
    reps = (1,) * (n - len(reps)) + reps
    shape = (1,) * (n - x.ndim) + tuple(x.shape)
    x = reshape(x, tuple(d for s in shape for d in (1, s)))  # a unit axis before each dim
    x = expand(x, tuple(d for r, s in zip(reps, shape) for d in (r, s)))
    return reshape(x, tuple(r * s for r, s in zip(reps, shape))).clone()


def broadcast_tensors(*tensors):
    for i, t in enumerate(tensors):
        if not isinstance(t, TensorBase):  # PyTorch's TypeError (numbers are not taken)
            raise TypeError(f"broadcast_tensors: expected a Tensor as element {i}, got "
                            f"{type(t).__name__}")
    shape = broadcast_shapes(*[t.shape for t in tensors])
    return tuple(expand(t, shape) for t in tensors)


def broadcast_shapes(*shapes):
    """The broadcast of several shapes, or a ValueError naming them."""
    n = max((len(s) for s in shapes), default=0)
    out = []
    for dims in zip(*[(1,) * (n - len(s)) + tuple(s) for s in shapes]):
        sizes = {d for d in dims if d != 1}  # 1 broadcasts to any size, 0 included
        if len(sizes) > 1:
            raise ShapeError(f"shapes {' and '.join(str(tuple(s)) for s in shapes)} cannot be "
                             "broadcast together")
        out.append(sizes.pop() if sizes else 1)
    return tuple(out)


def tensor_list(op, tensors):
    """``tensors`` as a list, or the error of an op that joins tensors (cat, hstack, ...)."""
    if isinstance(tensors, TensorBase) or not isinstance(tensors, (list, tuple)):
        raise TypeError(f"{op}: expected a list or tuple of Tensors, got "
                        f"{type(tensors).__name__}")
    if not tensors:
        raise ArgumentError(f"{op}: expected a non-empty list of Tensors")
    return list(tensors)


def _sparse_in(tensors):
    """The first sparse COO tensor in a list to join, or None."""
    if isinstance(tensors, (list, tuple)):
        return next((t for t in tensors if not isinstance(t, TensorBase)
                     and hasattr(t, "_sparse_join")), None)
    return None


def _joinable(op, tensors):
    tensors = tensor_list(op, tensors)
    like = next((t for t in tensors if isinstance(t, TensorBase)), None)
    for i, t in enumerate(tensors):  # torch refuses numbers and lists here (TypeError)
        if not isinstance(t, TensorBase) and not B.is_array(t):
            raise TypeError(f"{op}: expected Tensor as element {i} of the list, got "
                            f"{type(t).__name__}")
    tensors = [as_tensor(t, like=like, op=op) for t in tensors]
    dt = tensors[0].dtype
    if any(t.dtype != dt for t in tensors):
        first = tensors[0]
        for t in tensors[1:]:
            first, _ = promote(first, t, op, broadcast=False)
        tensors = [promote(t, first, op, broadcast=False)[0] for t in tensors]
    return tensors


def cat(tensors, dim=0, *, axis=None):
    """Join tensors along an existing dim (``concat`` is the Array API name)."""
    sparse = _sparse_in(tensors)
    if sparse is not None:  # sparse COO tensors: xpnn/_sparse_index.py
        return sparse._sparse_join("cat", tensors, dim if axis is None else axis)
    tensors = _joinable("cat", tensors)
    dim = dim if axis is None else axis
    # PyTorch's legacy rule: 1-D empty tensors (torch.tensor([])) join anything, skipped
    joined = [t for t in tensors if t.shape != (0,)]
    if joined and len(joined) < len(tensors):
        tensors = joined
    nd = tensors[0].ndim
    if nd == 0:
        raise ShapeError("cat: zero-dimensional tensors cannot be concatenated")
    d = _axis("cat", dim, nd)
    first = tensors[0].shape
    for i, t in enumerate(tensors):
        if t.ndim != nd or any(a != b for j, (a, b) in enumerate(zip(t.shape, first))
                               if j != d):
            raise ShapeError(f"cat: tensor {i} has shape {t.shape}, which does not match "
                             f"{first} except in dim {d}")
    if len(tensors) == 1:
        return tensors[0]
    return Concat.apply(*tensors, axis=d)


concat = concatenate = cat


def stack(tensors, dim=0, *, axis=None):
    """Join tensors of one shape along a new dim."""
    sparse = _sparse_in(tensors)
    if sparse is not None:  # sparse COO tensors: xpnn/_sparse_index.py
        return sparse._sparse_join("stack", tensors, dim if axis is None else axis)
    tensors = _joinable("stack", tensors)
    dim = dim if axis is None else axis
    first = tensors[0].shape
    for i, t in enumerate(tensors):
        if t.shape != first:
            raise ShapeError(f"stack: expects each tensor to be equal size, but got {first} at "
                             f"entry 0 and {t.shape} at entry {i}")
    return Stack.apply(*tensors, axis=_axis("stack", dim, len(first) + 1))
