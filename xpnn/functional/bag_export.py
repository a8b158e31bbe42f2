"""embedding_bag as a composition of recorded ops, used while an exporter traces the forward
(``autograd._tracer`` is set): the EmbeddingBag Function works on arrays it derives from the
ids outside the trace (bag of each id, padding mask, counts), which an ONNX export cannot
follow. Here the rows are an embedding lookup and the bags a reduction (2-D ids) or a matmul
with a membership matrix fixed by the offsets (1-D ids), so the ids stay graph values.

The values are the EmbeddingBag Function's up to summation order; the gradient is not this
module's concern (an export runs the forward only).
"""
from __future__ import annotations

from ..autograd import as_tensor


def traced_embedding_bag(lookup, input, weight, mode, psw, padding_idx, bag, inside, n):
    """(B, D) bags of ``weight``'s rows.

    Args:
        lookup: ``F.embedding`` (passed in: embedding.py imports this module).
        input: the ids Tensor, (B, L) or 1-D.
        weight: (V, D).
        mode: "sum", "mean" or "max".
        psw: per-sample weights flattened to 1-D (a Tensor) or None.
        padding_idx: ids left out of their bag, or None.
        bag, inside, n: for 1-D ids, the bag of each id, whether it lies in a bag (arrays
            from the offsets, constants of the trace), and the number of bags.
    """
    from .elementwise import where
    from .linalg import matmul
    from .reduce import amax, mean, sum as _sum
    ids = as_tensor(input, like=weight, op="embedding_bag")
    xp, dev = weight.xp, weight._be.device
    rows = lookup(ids, weight)  # (B, L, D) or (N, D)
    keep = ids != padding_idx if padding_idx is not None else None  # recorded: ids values
    if ids.ndim == 2:
        w = None if keep is None else keep.to(weight.dtype)
        if psw is not None:
            p = psw.reshape(ids.shape)
            w = p if w is None else w * p
        if mode == "max":
            low = where(keep.unsqueeze(-1), rows, float("-inf")) if keep is not None else rows
            Y = amax(low, dim=1)
            return Y if keep is None else where(keep.any(dim=1, keepdim=True), Y, 0.0)
        if mode == "mean" and keep is None:  # a mean op: the bag length may be a dynamic axis
            return mean(rows, dim=1)
        if w is not None:
            rows = rows * w.unsqueeze(-1)
        Y = _sum(rows, dim=1)
        if mode == "mean":
            Y = Y / _sum(keep.to(weight.dtype), dim=1, keepdim=True).clamp(min=1.0)
        return Y
    # 1-D ids with offsets: M[b, j] = 1 where id j lies in bag b
    member = (bag[None, :] == xp.arange(n, device=dev)[:, None]) & inside[None, :]
    M = weight._result(xp.astype(member, weight.dtype), weight._be)
    if keep is not None:
        M = M * keep.to(weight.dtype)
    if mode == "max":
        some = M > 0
        table = where(some.unsqueeze(-1), rows.unsqueeze(0), float("-inf"))  # (B, N, D)
        Y = amax(table, dim=1)
        return where(some.any(dim=1, keepdim=True), Y, 0.0)
    if psw is not None:  # "sum" only
        M = M * psw
    if mode == "mean":
        M = M / _sum(M, dim=1, keepdim=True).clamp(min=1.0)
    return matmul(M, rows)
