"""A sparse COO tensor meeting a dense one in arithmetic, PyTorch's rules:

* ``sparse * dense`` and ``dense * sparse``: a sparse result with the same indices, each
  stored value times the dense tensor read at its place (the dense operand broadcast to the
  sparse tensor's size, as ``torch.mul`` broadcasts it);
* ``dense + sparse``, ``dense - sparse`` and the in-place ``dense.add_(sparse, alpha=)``,
  ``sub_``, ``mul_``: a dense result, as if the sparse operand were ``to_dense()``
  (``sparse + dense`` stays refused, as in PyTorch). functional/elementwise.py's add, sub
  and mul (which the operators and the Tensor methods reach) and tensor_inplace.py tell a
  sparse operand by ``elementwise.is_sparse_coo`` and send it here or make it dense.

A hand-written sparse optimizer step (``p.add_(scale * p.grad, alpha=-lr)`` with an
``nn.Embedding(sparse=True)``'s gradient) is made of these. Both go through differentiable
ops on the values (indexing, ``mul``, ``index_add``), so gradients flow to the values and
to the dense operand.
"""
from __future__ import annotations

from . import functional as F


def mul_dense(s, dense):
    """``s * dense`` for a sparse ``s`` and a dense Tensor that broadcasts to ``s.shape``.

    Returns:
        a sparse tensor with ``s``'s indices and values ``s.values() * dense[indices]``
        (the dense operand's entries at the stored places, over the dense dims of a hybrid
        tensor too).
    """
    size = tuple(s.shape)
    if dense._be is not s._v._be:
        raise TypeError(f"mul: a sparse tensor on {s.backend} met a dense one on "
                        f"{dense.backend}; move one with .to(...)")
    shape = tuple(F.broadcast_shapes(tuple(dense.shape), size))
    if shape != size:
        raise RuntimeError(f"mul: a sparse tensor of size {list(size)} times a dense one of "
                           f"shape {list(dense.shape)}: the dense operand must broadcast to "
                           "the sparse tensor's size")
    full = F.expand(dense, *size) if tuple(dense.shape) != size else dense
    rows = tuple(s._i[k] for k in range(s.sparse_dim()))
    return type(s)(s._i, F.mul(s._v, full[rows]), size, s._coalesced)
