"""Shape ops: reshape, permute, indexing, concat/stack, take, and transfer between backends."""
from __future__ import annotations

from .. import backend as B
from ..autograd import Function, Tensor, as_tensor


class Reshape(Function):
    def forward(self, X, shape=None):
        self.shape = X.shape
        return self.xp.reshape(X, shape)

    def backward(self, dY):
        return self.xp.reshape(dY, self.shape)


class Permute(Function):
    def forward(self, X, axes=None):
        self.axes = axes
        return self.xp.permute_dims(X, axes)

    def backward(self, dY):
        inverse = [0] * len(self.axes)
        for i, a in enumerate(self.axes):
            inverse[a] = i
        return self.xp.permute_dims(dY, tuple(inverse))


class GetItem(Function):
    def forward(self, X, key=None):
        self.shape, self.dtype, self.key = X.shape, X.dtype, key
        return X[key]

    def backward(self, dY):
        xp = self.xp
        key = self.key
        if _is_int_array(key):  # integer-array index on axis 0: repeats must add up
            return index_add(self.be, xp.zeros(self.shape, dtype=self.dtype,
                                               device=self.be.device), 0, key, dY)
        dX = xp.zeros(self.shape, dtype=self.dtype, device=self.be.device)
        if key is None or (isinstance(key, tuple) and any(k is None for k in key)):
            # the Array API allows None (new axis) only when reading: assign through the
            # key without it, dropping those size-1 axes from dY
            key = () if key is None else tuple(k for k in key if k is not None)
            dY = xp.reshape(dY, tuple(dX[key].shape))
        dX[key] = dY
        return dX


class Concat(Function):
    def forward(self, *Xs, axis=0):
        self.axis = axis
        self.sizes = [X.shape[axis] for X in Xs]
        return self.xp.concat(Xs, axis=axis)

    def backward(self, dY):
        out, start = [], 0
        ax = self.axis % len(dY.shape)
        for n in self.sizes:
            # the trailing Ellipsis: the Array API wants every axis indexed
            out.append(dY[(slice(None),) * ax + (slice(start, start + n), ...)])
            start += n
        return tuple(out)


class Stack(Function):
    def forward(self, *Xs, axis=0):
        self.axis = axis
        return self.xp.stack(Xs, axis=axis)

    def backward(self, dY):
        n = dY.shape[self.axis]
        ax = self.axis % len(dY.shape)
        return tuple(dY[(slice(None),) * ax + (i, ...)] for i in range(n))


class Take(Function):
    def forward(self, X, indices=None, axis=0):
        self.shape, self.dtype, self.indices, self.axis = X.shape, X.dtype, indices, axis
        return self.xp.take(X, indices, axis=axis)

    def backward(self, dY):
        xp = self.xp
        dX = xp.zeros(self.shape, dtype=self.dtype, device=self.be.device)
        return index_add(self.be, dX, self.axis, self.indices, dY)


class Transfer(Function):
    def forward(self, X, target=None, dtype=None):
        self.source, self.src_dtype = self.be, X.dtype
        if target is self.be:
            return X if dtype is None else self.xp.astype(X, target.dtype(dtype))
        return target.asarray(X, dtype=dtype)

    def backward(self, dY):
        if self.source is B.backend_of(dY) and dY.dtype == self.src_dtype:
            return dY
        if self.source is B.backend_of(dY):
            return self.xp.astype(dY, self.src_dtype)
        return self.source.asarray(dY, dtype=self.src_dtype)


def _is_int_array(key):
    return B.is_array(key) and not str(key.dtype).endswith("bool")


def index_add(be, dst, axis, index, src):
    """dst[..., index[i], ...] += src[..., i, ...] along ``axis``; repeated indices add up.

    Uses the backend's native scatter-add when it has one; the portable path is a one-hot
    matmul (the Array API has no scatter-add).
    """
    native = be.fast.get("index_add")
    if native is not None:
        return native(dst, axis, index, src)
    return index_add_portable(be.xp, dst, axis, index, src)


def index_add_portable(xp, dst, axis, index, src):
    n = dst.shape[axis]
    onehot = xp.astype(index[:, None] == xp.arange(n, device=dst.device)[None, :], src.dtype)
    moved = xp.moveaxis(src, axis, -1)  # (..., k)
    added = xp.moveaxis(moved @ onehot, -1, axis)  # (..., n)
    return dst + added


# -- public functions --------------------------------------------------------------------
def reshape(x, *shape):
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    return Reshape.apply(x, shape=tuple(shape))


def flatten(x, start_dim=1, end_dim=-1):
    """Merge dims start_dim..end_dim into one (PyTorch's torch.flatten)."""
    shape = x.shape
    nd = len(shape)
    s, e = start_dim % nd if nd else 0, end_dim % nd if nd else 0
    n = 1
    for d in shape[s:e + 1]:
        n *= d
    return reshape(x, shape[:s] + (n,) + shape[e + 1:])


def permute(x, *axes):
    if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
        axes = tuple(axes[0])
    nd = x.ndim
    return Permute.apply(x, axes=tuple(a % nd for a in axes))


def transpose(x, dim0=-2, dim1=-1):
    """Swap two axes (by default the last two)."""
    axes = list(range(x.ndim))
    axes[dim0], axes[dim1] = axes[dim1], axes[dim0]
    return Permute.apply(x, axes=tuple(axes))


def unsqueeze(x, axis):
    shape = list(x.shape)
    shape.insert(axis % (len(shape) + 1), 1)
    return reshape(x, tuple(shape))


def squeeze(x, axis=None):
    shape = x.shape
    if axis is None:
        return reshape(x, tuple(d for d in shape if d != 1))
    axis = axis % len(shape)
    if shape[axis] != 1:
        raise ValueError(f"squeeze: axis {axis} has size {shape[axis]}, not 1 (shape {shape})")
    return reshape(x, shape[:axis] + shape[axis + 1:])


def getitem(x, key):
    if isinstance(key, Tensor):
        key = key.data
    elif isinstance(key, tuple):
        key = tuple(k.data if isinstance(k, Tensor) else k for k in key)
    if _is_int_array(key):
        return Take.apply(x, indices=key, axis=0)
    if isinstance(key, tuple) and key and _is_int_array(key[-1]) and \
            all(isinstance(k, slice) and k == slice(None) for k in key[:-1]):
        # x[:, ..., :, idx] is take along that axis: repeated indices must add up in
        # backward, which GetItem's assignment ``dX[key] = dY`` would not do
        return Take.apply(x, indices=key[-1], axis=len(key) - 1)
    if isinstance(key, tuple) and len(key) > 1 and all(_is_int_array(k) for k in key):
        return _gather_leading(x, key)
    return GetItem.apply(x, key=key)


def _gather_leading(x, key):
    """x[i0, i1, ...], int arrays on the leading axes, as one take on those axes flattened:
    repeated index tuples then add up in backward (an assignment would keep one), and
    array_api_strict, which cannot assign through integer arrays, works too."""
    xp, k = x.xp, len(key)
    if k > x.ndim:
        raise IndexError(f"getitem: {k} index arrays for a tensor of shape {x.shape}")
    lead, rest = x.shape[:k], x.shape[k:]
    flat = None
    for ix, n in zip(xp.broadcast_arrays(*key), lead):
        ix = xp.where(ix < 0, ix + n, ix)  # negative indices count from the end
        flat = ix if flat is None else flat * n + ix
    out = Take.apply(reshape(x, (-1,) + rest), indices=xp.reshape(flat, (-1,)), axis=0)
    return reshape(out, tuple(flat.shape) + rest)


def concat(tensors, axis=0):
    """Join tensors along an existing axis."""
    tensors = [as_tensor(t) for t in tensors]
    return Concat.apply(*tensors, axis=axis)


cat = concat


def stack(tensors, axis=0):
    """Join tensors along a new axis."""
    tensors = [as_tensor(t) for t in tensors]
    return Stack.apply(*tensors, axis=axis)


def take(x, indices, axis=0):
    """Select entries along ``axis`` by an integer index array (repeats allowed)."""
    indices = indices.data if isinstance(indices, Tensor) else indices
    # a non-negative axis: the native scatter-adds build (slice(None),) * axis
    return Take.apply(x, indices=indices, axis=axis % x.ndim)


def to(x, backend=None, device=None, dtype=None):
    """``x`` on another backend/device/dtype; gradients flow back to the source."""
    target = x._be if backend is None and device is None else B.get_backend(
        backend if backend is not None else x.backend, device)
    if target is x._be and (dtype is None or x.dtype == target.dtype(dtype)):
        return x
    out = Transfer.apply(x, target=target, dtype=dtype)
    out._be = target  # the node ran on the source; its output lives on the target
    return out
