"""The ``sparse=True`` gradient of embedding and embedding_bag: one entry per id read (the
padding id's entries left out), as PyTorch's ``embedding_sparse_backward``; the leaf's
``.grad`` is then a sparse COO tensor (xpnn/autograd/sparse_grad.py)."""
from __future__ import annotations

from ..autograd.sparse_grad import SparseGrad


def sparse_rows(node, ids, G, padding_idx, by_freq=False):
    """dW of an embedding node as a :class:`SparseGrad`, or None when the table is not a
    leaf (a gradient flowing on through other ops stays dense, as xpnn's ops take arrays).

    Args:
        node: the Embedding/EmbeddingBag node (its ``be``, ``shape`` and edges).
        ids: (n,) int64 rows read.
        G: (n, D) the gradient of each row read.
        padding_idx: a row whose entries are dropped, or None.
        by_freq: scale_grad_by_freq, which PyTorch refuses with sparse gradients.
    """
    if by_freq:
        raise RuntimeError("embedding_backward: scale_grad_by_freq not supported with sparse "
                           "gradients")
    if node.edges[0][0] is not None:
        return None
    if padding_idx is not None:  # a data-dependent size: PyTorch drops them the same way
        keep = ids != padding_idx
        ids, G = ids[keep], G[keep]
    return SparseGrad(node.be, ids, G, node.shape)
