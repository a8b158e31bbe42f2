"""Embedding lookup: rows of a weight table picked by integer ids, one node per call.

The backward is a scatter-add (repeated ids add up), xpnn.functional.indexing.index_add:
native where the backend has one, a chunked one-hot matmul otherwise.
"""
from __future__ import annotations

from .. import backend as B
from ..autograd import Function, TensorBase, unwrap
from .indexing import index_add


class Embedding(Function):
    """Y[..., :] = W[ids[...], :]; dW = scatter-add of dY over ids (the pad row gets none)."""

    saved_inputs = ()

    def forward(self, W, ids=None, padding_idx=None, bad=None):
        xp = self.xp
        self.ids = xp.reshape(ids, (-1,))
        self.shape, self.dtype, self.padding_idx = W.shape, W.dtype, padding_idx
        Y = xp.take(W, self.ids, axis=0)
        if bad is not None:  # out-of-range ids on a device: NaN rows instead of a host check
            Y = xp.where(xp.reshape(bad, (-1, 1)),
                         xp.asarray(float("nan"), dtype=Y.dtype, device=Y.device), Y)
        return xp.reshape(Y, tuple(ids.shape) + (W.shape[1],))

    def backward(self, dY):
        xp = self.xp
        dY = xp.reshape(dY, (-1, self.shape[1]))
        dW = xp.zeros(self.shape, dtype=self.dtype, device=self.be.device)
        dW = index_add(self.be, dW, 0, self.ids, dY)
        if self.padding_idx is not None:
            dW[self.padding_idx, :] = 0  # the padding vector is never learned (PyTorch)
        return dW


def check_ids(name, ids, num_embeddings):
    """Raise naming the layer unless ``ids`` is an integer array with values in [0, V).

    The range is checked where the ids live in host memory (free). On a device it would
    cost a sync per call, so there the out-of-range positions are returned instead (a bool
    array; None if none can be): :class:`Embedding` fills their rows with NaN, which fit's
    non-finite guard reports at its next sync.
    """
    be = B.backend_of(ids)
    xp = be.xp
    if not xp.isdtype(ids.dtype, "integral"):
        raise TypeError(f"{name}: token ids must be integers, got dtype {ids.dtype} "
                        f"(shape {tuple(ids.shape)})")
    if 0 in tuple(ids.shape):
        return None
    if not be.on_host:
        return (ids < 0) | (ids >= num_embeddings)
    if bool(xp.any((ids < 0) | (ids >= num_embeddings))):
        host = B.to_numpy(ids)
        raise IndexError(f"{name}: token ids must be in [0, {num_embeddings}) "
                         f"(num_embeddings = {num_embeddings}), got values in "
                         f"[{host.min()}, {host.max()}] in input of shape {tuple(ids.shape)}")


def embedding(input, weight, padding_idx=None, max_norm=None, norm_type=2.0,
              scale_grad_by_freq=False, sparse=False, *, check=True):
    """Look up rows of ``weight`` by integer ids (PyTorch's F.embedding).

    Args:
        input: integer ids of any shape (a Tensor, a backend array or host data), values in
            [0, num_embeddings).
        weight: (num_embeddings, embedding_dim) floating Tensor.
        padding_idx: a row that receives no gradient (negative counts from the end).
        max_norm, norm_type, scale_grad_by_freq, sparse: PyTorch's options; only their
            defaults are supported (others raise NotImplementedError).
        check: verify the id range (free for host arrays; on a device, out-of-range ids
            give NaN rows instead of a sync).
    Returns:
        Tensor of shape input.shape + (embedding_dim,), weight's dtype.
    """
    for arg, value, default in (("max_norm", max_norm, None),
                                ("scale_grad_by_freq", scale_grad_by_freq, False),
                                ("sparse", sparse, False)):
        if value != default:
            raise NotImplementedError(f"embedding: {arg}={value!r} is not supported by xpnn "
                                      f"(only {arg}={default!r})")
    return lookup("embedding", input, weight, padding_idx, check)


def lookup(name, input, weight, padding_idx=None, check=True):
    """:func:`embedding` with errors naming ``name`` (``nn.Embedding`` passes its repr)."""
    if not isinstance(weight, TensorBase) or weight.ndim != 2:
        raise ValueError(f"{name}: weight must be a 2-D Tensor (num_embeddings, "
                         f"embedding_dim), got {getattr(weight, 'shape', type(weight))}")
    V = weight.shape[0]
    ids = unwrap(input)
    if not B.is_array(ids):
        ids = weight._be.asarray(ids)
    elif B.backend_of(ids) is not weight._be:
        be = B.backend_of(ids)
        raise TypeError(f"{name}: ids live on {be.name}:{be.device} but the weight on "
                        f"{weight.backend}:{weight._be.device}; move them with .to(...) first")
    xp = weight.xp
    if ids.dtype != xp.int64 and xp.isdtype(ids.dtype, "integral"):  # uint8, int16, ...:
        ids = xp.astype(ids, xp.int64)  # some backends index with int32/int64 only
    bad = check_ids(name, ids, V) if check else None
    if padding_idx is not None:
        if not -V <= padding_idx < V:
            raise ValueError(f"{name}: padding_idx must be in [-{V}, {V}), got "
                             f"{padding_idx!r}")
        padding_idx %= V
    if bad is not None:
        ids = weight.xp.where(bad, 0, ids)  # a valid row to read; the output row is NaN
    return Embedding.apply(weight, ids=ids, padding_idx=padding_idx, bad=bad)
