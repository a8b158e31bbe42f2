"""Embedding lookup: rows of a weight table picked by integer ids, one node per call.

The backward is a scatter-add (repeated ids add up). The Array API has none, so the portable
path is a one-hot matmul done in chunks (memory stays bounded for large vocabularies); a
backend's native scatter-add (np.add.at, torch index_add_, cupyx.scatter_add) is used when
``Backend.fast`` has one. Both give the same sums (tests/test_embedding.py).
"""
from __future__ import annotations

from .. import backend as B
from ..autograd import Function, Tensor

# Elements of one one-hot chunk (ids x vocabulary): ~64 MB of float32 at most.
_ONEHOT_BUDGET = 1 << 24


def scatter_rows_portable(xp, dW, ids, dY):
    """dW[ids[i]] += dY[i] with pure Array API ops: sum over chunks of onehot^T @ dY.

    Args:
        dW: (V, D) array, updated functionally (the sum is returned).
        ids: (n,) integer array.
        dY: (n, D) array of dW's dtype.
    Returns:
        (V, D) array.
    """
    V, n = dW.shape[0], ids.shape[0]
    vocab = xp.arange(V, device=dW.device)
    step = max(1, _ONEHOT_BUDGET // max(V, 1))
    for start in range(0, n, step):
        stop = min(n, start + step)
        onehot = xp.astype(ids[start:stop, None] == vocab[None, :], dY.dtype)  # (c, V)
        dW = dW + xp.matrix_transpose(onehot) @ dY[start:stop, ...]
    return dW


def scatter_rows(be, dW, ids, dY, native=True):
    """dW[ids[i]] += dY[i]: the backend's native scatter-add when it has one, else portable."""
    fast = be.fast.get("index_add") if native else None
    if fast is not None:
        return fast(dW, 0, ids, dY)
    return scatter_rows_portable(be.xp, dW, ids, dY)


class Embedding(Function):
    """Y[..., :] = W[ids[...], :]; dW = scatter-add of dY over ids (the pad row gets none)."""

    def forward(self, W, ids=None, padding_idx=None):
        xp = self.xp
        self.ids = xp.reshape(ids, (-1,))
        self.shape, self.dtype, self.padding_idx = W.shape, W.dtype, padding_idx
        Y = xp.take(W, self.ids, axis=0)
        return xp.reshape(Y, tuple(ids.shape) + (W.shape[1],))

    def backward(self, dY):
        xp = self.xp
        dY = xp.reshape(dY, (-1, self.shape[1]))
        dW = xp.zeros(self.shape, dtype=self.dtype, device=self.be.device)
        dW = scatter_rows(self.be, dW, self.ids, dY)
        if self.padding_idx is not None:
            dW[self.padding_idx, :] = 0  # the padding vector is never learned (PyTorch)
        return dW


def check_ids(name, ids, num_embeddings):
    """Raise naming the layer unless ``ids`` is an integer array with values in [0, V).

    One host sync (a reduction to a bool); the values are fetched only to word the error.
    """
    xp = B.backend_of(ids).xp
    if not xp.isdtype(ids.dtype, "integral"):
        raise TypeError(f"{name}: token ids must be integers, got dtype {ids.dtype} "
                        f"(shape {tuple(ids.shape)})")
    if 0 in tuple(ids.shape):
        return
    if bool(xp.any((ids < 0) | (ids >= num_embeddings))):
        host = B.to_numpy(ids)
        raise IndexError(f"{name}: token ids must be in [0, {num_embeddings}) "
                         f"(num_embeddings = {num_embeddings}), got values in "
                         f"[{host.min()}, {host.max()}] in input of shape {tuple(ids.shape)}")


def embedding(input, weight, padding_idx=None, check=True):
    """Look up rows of ``weight`` by integer ids (PyTorch's F.embedding).

    Args:
        input: integer ids of any shape (a Tensor, a backend array or host data), values in
            [0, num_embeddings).
        weight: (num_embeddings, embedding_dim) floating Tensor.
        padding_idx: a row that receives no gradient (negative counts from the end).
        check: verify the id range (one host sync; pass False in a hot loop you trust).
    Returns:
        Tensor of shape input.shape + (embedding_dim,), weight's dtype.
    """
    if weight.ndim != 2:
        raise ValueError(f"embedding: weight must be 2-D (num_embeddings, embedding_dim), got "
                         f"shape {weight.shape}")
    V = weight.shape[0]
    ids = input.data if isinstance(input, Tensor) else input
    if not B.is_array(ids) or B.backend_of(ids) is not weight._be:
        ids = weight._be.asarray(B.to_numpy(ids) if B.is_array(ids) else ids)
    if check:
        check_ids("embedding", ids, V)
    if padding_idx is not None:
        if not -V <= padding_idx < V:
            raise ValueError(f"embedding: padding_idx must be in [-{V}, {V}), got "
                             f"{padding_idx!r}")
        padding_idx %= V
    return Embedding.apply(weight, ids=ids, padding_idx=padding_idx)
