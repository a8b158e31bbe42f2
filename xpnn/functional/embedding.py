"""Embedding lookup: rows of a weight table picked by integer ids, one node per call; and
embedding bags, the sum, mean or max of the rows of each bag of ids.

The backward is a scatter-add (repeated ids add up), xpnn.functional.indexing.index_add:
native where the backend has one, a chunked one-hot matmul otherwise.
"""
from __future__ import annotations

from ..autograd import function_base  # owns _tracer
from .. import backend as B
from ..autograd import Function, TensorBase, as_tensor, no_grad, raw, unwrap
from .._errors import ArgumentError, DtypeError
from .embedding_sparse import sparse_rows
from .indexing import index_add


class PaddingIdxError(ArgumentError, AssertionError):
    """padding_idx outside [-V, V): torch asserts it (AssertionError) in Embedding and
    F.embedding, and raises RuntimeError in F.embedding_bag; this error is all of them."""


class Embedding(Function):
    """Y[..., :] = W[ids[...], :]; dW = scatter-add of dY over ids (the pad row gets none)."""

    saved_inputs = ()

    def forward(self, W, ids=None, padding_idx=None, bad=None, by_freq=False, sparse=False):
        xp = self.xp
        self.ids = xp.reshape(ids, (-1,))
        self.shape, self.dtype, self.padding_idx = W.shape, W.dtype, padding_idx
        self.by_freq, self.sparse = by_freq, sparse
        Y = xp.take(W, self.ids, axis=0)
        if bad is not None:  # out-of-range ids on a device: NaN rows instead of a host check
            Y = xp.where(xp.reshape(bad, (-1, 1)),
                         xp.asarray(float("nan"), dtype=Y.dtype, device=Y.device), Y)
        return xp.reshape(Y, tuple(ids.shape) + (W.shape[1],))

    def backward(self, dY):
        xp = self.xp
        dY = xp.reshape(dY, (-1, self.shape[1]))
        if self.sparse:  # a sparse .grad for a leaf table (embedding_sparse.py)
            dW = sparse_rows(self, self.ids, dY, self.padding_idx, self.by_freq)
            if dW is not None:
                return dW
        dW = xp.zeros(self.shape, dtype=self.dtype, device=self.be.device)
        dW = index_add(self.be, dW, 0, self.ids, dY)
        if self.by_freq:  # each row's gradient over how often its id came in the batch
            ones = xp.ones((self.ids.shape[0], 1), dtype=self.dtype, device=self.be.device)
            counts = index_add(self.be, xp.zeros((self.shape[0], 1), dtype=self.dtype,
                                                 device=self.be.device), 0, self.ids, ones)
            dW = dW / xp.where(counts > 0, counts, xp.ones_like(counts))
        if self.padding_idx is not None:
            dW[self.padding_idx, :] = 0  # the padding vector is never learned (PyTorch)
        return dW

    def backward_graph(self, dY):
        from .graph_misc import embedding_graph
        return embedding_graph(self, dY)


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
        raise DtypeError(f"{name}: token ids must be integers, got dtype {ids.dtype} "
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
        max_norm: rows read whose ``norm_type``-norm exceeds it are first scaled in
            ``weight`` itself, in place, to that norm (PyTorch's renorm, 1e-7 in the scale).
        scale_grad_by_freq: each row's gradient divided by how often its id occurs in
            ``input``.
        sparse: a leaf ``weight`` gets a sparse COO ``.grad`` (one entry per id read, the
            padding id's left out), for optim.SparseAdam, SGD and Adagrad.
        check: verify the id range (free for host arrays; on a device, out-of-range ids
            give NaN rows instead of a sync).
    Returns:
        Tensor of shape input.shape + (embedding_dim,), weight's dtype.
    """
    return lookup("embedding", input, weight, padding_idx, check, max_norm, norm_type,
                  scale_grad_by_freq, sparse)


def _defaults_only(op, max_norm, scale_grad_by_freq, sparse):
    for arg, value, default in (("max_norm", max_norm, None),
                                ("scale_grad_by_freq", scale_grad_by_freq, False),
                                ("sparse", sparse, False)):
        if value != default:
            raise NotImplementedError(f"{op}: {arg}={value!r} is not supported by xpnn "
                                      f"(only {arg}={default!r})")


def _ids(name, input, weight):
    """The ids as an array of weight's backend (int64 for the narrower integer dtypes)."""
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
    return ids


def _padding(name, padding_idx, V):
    if padding_idx is None:
        return None
    if isinstance(padding_idx, bool) or not isinstance(padding_idx, int) or \
            not -V <= padding_idx < V:
        raise PaddingIdxError(f"{name}: padding_idx must be in [-{V}, {V}), got "
                              f"{padding_idx!r}")
    return padding_idx % V


def _check_weight(name, weight):
    if not isinstance(weight, TensorBase) or weight.ndim != 2:
        raise ValueError(f"{name}: weight must be a 2-D Tensor (num_embeddings, "
                         f"embedding_dim), got {getattr(weight, 'shape', type(weight))}")


def lookup(name, input, weight, padding_idx=None, check=True, max_norm=None, norm_type=2.0,
           scale_grad_by_freq=False, sparse=False):
    """:func:`embedding` with errors naming ``name`` (``nn.Embedding`` passes its repr)."""
    _check_weight(name, weight)
    V = weight.shape[0]
    ids = _ids(name, input, weight)
    bad = check_ids(name, ids, V) if check else None
    padding_idx = _padding(name, padding_idx, V)
    if bad is not None:
        ids = weight.xp.where(bad, 0, ids)  # a valid row to read; the output row is NaN
    if max_norm is not None:
        _renorm_rows(name, weight, ids, max_norm, norm_type)
    return Embedding.apply(weight, ids=ids, padding_idx=padding_idx, bad=bad,
                           by_freq=bool(scale_grad_by_freq), sparse=bool(sparse))


def _renorm_rows(name, weight, ids, max_norm, norm_type):
    """The rows of ``weight`` that ``ids`` read, scaled in place (outside the graph, as
    PyTorch's embedding_renorm_) so that their ``norm_type``-norm is at most ``max_norm``."""
    if isinstance(max_norm, bool) or not isinstance(max_norm, (int, float)) or max_norm < 0:
        raise ValueError(f"{name}: max_norm must be a number >= 0, got {max_norm!r}")
    xp, p = weight.xp, float(norm_type)
    flat = xp.reshape(ids, (-1,))
    rows = xp.take(weight.array, flat, axis=0)
    a = xp.abs(rows)
    if p == float("inf"):
        norms = xp.max(a, axis=1) if rows.shape[1] else xp.sum(a, axis=1)
    elif p == 2.0:
        norms = xp.sqrt(xp.sum(a * a, axis=1))
    else:
        norms = xp.sum(a ** p, axis=1) ** (1.0 / p)
    scale = xp.where(norms > max_norm, max_norm / (norms + 1e-7), xp.ones_like(norms))
    with no_grad():
        weight[flat] = rows * xp.reshape(scale, (-1, 1))


# -- bags ------------------------------------------------------------------------------------


class EmbeddingBag(Function):
    """Per bag b, the sum (or mean, or max) of W[ids[j]] over its elements j.

    sum and mean: Y[b] = sum_j c[j] W[ids[j]] over j in bag b, one scatter-add, where c holds
    the per-sample weights, 0 for padding, and 1/count for the mean; dW[ids[j]] += c[j] dY[b]
    and d(per_sample_weights)[j] = dY[b] . W[ids[j]].

    max: the elements of each bag as a (B, L) table of slots (``slot``: the element, ``valid``:
    whether it is one, padding excluded); per feature the first maximum wins and takes the
    gradient. An empty bag gives zeros.
    """

    saved_inputs = ()

    def forward(self, W, *psw, ids=None, bag=None, scale=None, bags=0, slot=None, valid=None,
                bad=None, sparse=False, padding_idx=None):
        xp, dev = self.xp, self.be.device
        self.ids, self.bag, self.shape = ids, bag, W.shape
        self.sparse, self.padding_idx = sparse, padding_idx
        rows = xp.take(W, ids, axis=0)
        if bad is not None:
            rows = xp.where(bad[:, None], xp.asarray(float("nan"), dtype=W.dtype, device=dev),
                            rows)
        if slot is None:  # sum / mean
            self.scale = scale
            c = scale if not psw else scale * psw[0]
            self.c, self.rows = c, (rows if psw else None)
            Y = xp.zeros((bags, W.shape[1]), dtype=W.dtype, device=dev)
            return index_add(self.be, Y, 0, bag, rows * c[:, None])
        B, L = slot.shape
        self.some = xp.any(valid, axis=1)[:, None]
        if L == 0:  # no elements at all
            self.elem = xp.zeros((B, W.shape[1]), dtype=ids.dtype, device=dev)
            return xp.zeros((B, W.shape[1]), dtype=W.dtype, device=dev)
        table = xp.reshape(xp.take(rows, xp.reshape(slot, (-1,)), axis=0),
                           (B, L, W.shape[1]))
        low = xp.asarray(-float("inf"), dtype=W.dtype, device=dev)
        table = xp.where(valid[:, :, None], table, low)
        pick = xp.argmax(table, axis=1)  # (B, D): the first maximum
        base = xp.reshape(xp.arange(B, dtype=pick.dtype, device=dev) * L, (B, 1))
        self.elem = xp.take(xp.reshape(slot, (-1,)), xp.reshape(pick + base, (-1,)))
        zero = xp.zeros((), dtype=W.dtype, device=dev)
        return xp.where(self.some, xp.max(table, axis=1), zero)

    def backward(self, dY):
        xp, dev = self.xp, self.be.device
        dW = xp.zeros(self.shape, dtype=dY.dtype, device=dev)
        if not hasattr(self, "c"):  # max: each (bag, feature) to its maximum's row
            D = self.shape[1]
            if self.ids.shape[0] == 0:  # no elements: every bag is zeros
                return dW
            target = xp.take(self.ids, xp.reshape(self.elem, (-1,)))  # (B * D,)
            g = xp.reshape(xp.where(self.some, dY, xp.zeros_like(dY)), (-1,))
            flat = target * D + xp.tile(xp.arange(D, device=dev), (dY.shape[0],))
            dW = index_add(self.be, xp.reshape(dW, (-1,)), 0, flat, g)
            return xp.reshape(dW, self.shape)
        G = xp.take(dY, self.bag, axis=0)
        sp = sparse_rows(self, self.ids, G * self.c[:, None], self.padding_idx) \
            if self.sparse and self.needs[0] else None
        dW = sp if sp is not None else \
            index_add(self.be, dW, 0, self.ids, G * self.c[:, None]) if self.needs[0] else None
        if self.rows is None:
            return dW
        dpsw = xp.sum(G * self.rows, axis=1) * self.scale if self.needs[1] else None
        return dW, dpsw

    def backward_graph(self, dY):
        """PyTorch 2.13 has no derivative of embedding_bag's backward: the gradient is
        recorded, and differentiating it again raises (:func:`first_order_only`)."""
        from .first_order import first_order_only
        return first_order_only(self, (dY,), "embedding_bag")


def _bags(op, ids, offsets, include_last_offset, x_like):
    """(flat ids, bag of each id, which ids lie in a bag, B, the (B, L) slot table of the
    bags' elements or None for 1-D input) from 2-D ids or 1-D ids with offsets."""
    xp, dev = x_like.xp, x_like._be.device
    if ids.ndim == 2:
        if offsets is not None:
            raise ValueError(f"{op}: with a 2-D input (a batch of fixed-length bags) offsets "
                             f"must be None, got {type(offsets).__name__}")
        Bn, L = ids.shape
        slot = xp.reshape(xp.arange(Bn * L, device=dev), (Bn, L))
        return xp.reshape(ids, (-1,)), xp.reshape(slot // max(L, 1), (-1,)), None, Bn, slot
    if ids.ndim != 1:
        raise ValueError(f"{op}: input has to be 1-D (with offsets) or 2-D, got shape "
                         f"{tuple(ids.shape)}")
    if offsets is None:
        raise ValueError(f"{op}: a 1-D input needs offsets (a 1-D int tensor), got None")
    offs = raw(offsets, x_like, op, "offsets")
    if offs.ndim != 1 or not xp.isdtype(offs.dtype, "integral"):
        raise ValueError(f"{op}: offsets must be a 1-D int tensor, got shape "
                         f"{tuple(offs.shape)} and dtype {B.dtype_name(offs.dtype)}")
    offs = xp.astype(offs, xp.int64)
    if include_last_offset and offs.shape[0] == 0:
        raise ValueError(f"{op}: include_last_offset needs at least one offset")
    starts = offs[:-1] if include_last_offset else offs
    n = starts.shape[0]
    if n and x_like._be.on_host and int(starts[0]) != 0:
        raise ValueError(f"{op}: offsets[0] has to be 0 (the first bag starts at position "
                         f"0), got {int(starts[0])}")
    if offs.shape[0] and x_like._be.on_host and int(offs[-1]) > ids.shape[0]:
        raise ValueError(f"{op}: offsets[-1] can not be greater than input's length "
                         f"{ids.shape[0]}, got {int(offs[-1])}")
    pos = xp.arange(ids.shape[0], device=dev)
    bag = xp.searchsorted(starts, pos, side="right") - 1
    inside = bag >= 0
    if include_last_offset:
        inside = inside & (pos < offs[-1])
    return ids, xp.where(inside, bag, 0), inside, n, None


def embedding_bag(input, weight, offsets=None, max_norm=None, norm_type=2,
                  scale_grad_by_freq=False, mode="mean", sparse=False, per_sample_weights=None,
                  include_last_offset=False, padding_idx=None):
    """Sums, means or maxima of bags of embeddings without building the (ids, D) rows as a
    graph node, as ``torch.nn.functional.embedding_bag``.

    Args:
        input: int ids, (B, N) (B bags of N) or 1-D with ``offsets``.
        weight: (num_embeddings, D) floating Tensor.
        offsets: with 1-D input, the start of each bag (offsets[0] == 0; sorted); a bag may
            be empty.
        max_norm, norm_type: the rows of ``weight`` that ``input`` reads whose
            ``norm_type``-norm exceeds max_norm are first scaled to it, in place (as
            :func:`embedding`).
        scale_grad_by_freq: only PyTorch's default (False).
        sparse: a leaf ``weight`` gets a sparse COO ``.grad`` ("sum"/"mean" only, as torch).
        mode: "sum", "mean" or "max" (per feature; the gradient goes to the first maximum).
        per_sample_weights: input's shape, floating; each row is scaled by it ("sum" only).
        include_last_offset: offsets has B + 1 entries, the last being len(input).
        padding_idx: ids equal to it are left out of their bag (and of the mean's count);
            negative counts from the end.
    Returns:
        (B, D), weight's dtype; an empty bag gives zeros. In "max" mode with offsets the
        work is a (B, len(input), D) table: fine for a batch, not for a huge 1-D input.
    """
    op = "embedding_bag"
    _defaults_only(op, None, scale_grad_by_freq, False)
    if sparse and mode == "max":
        raise ValueError(f"{op}: max mode does not support sparse weights")
    if mode not in ("sum", "mean", "max"):
        raise ValueError(f"{op}: mode has to be one of 'sum', 'mean' or 'max', got {mode!r}")
    _check_weight(op, weight)
    V, xp, dev = weight.shape[0], weight.xp, weight._be.device
    ids = _ids(op, input, weight)
    shape = tuple(ids.shape)
    ids, bag, inside, n, slot = _bags(op, ids, offsets, include_last_offset, weight)
    psw = ()
    if per_sample_weights is not None:
        if mode != "sum":
            raise NotImplementedError(f"{op}: per_sample_weights is only supported for "
                                      f"mode='sum', got mode={mode!r}")
        w = as_tensor(per_sample_weights, like=weight, op=op)
        if tuple(w.shape) != shape:
            raise ValueError(f"{op}: per_sample_weights of shape {tuple(w.shape)} must have "
                             f"the input's shape {shape}")
        if w.dtype != weight.dtype:
            raise TypeError(f"{op}: per_sample_weights dtype {B.dtype_name(w.dtype)} differs "
                            f"from the weight's {B.dtype_name(weight.dtype)}")
        psw = (w.reshape(-1),)
    bad = check_ids(op, ids, V)
    if bad is not None:
        ids = xp.where(bad, 0, ids)
    if max_norm is not None:  # every id of the input, padding too (as PyTorch's renorm)
        _renorm_rows(op, weight, ids, max_norm, norm_type)
    padding_idx = _padding(op, padding_idx, V)
    if getattr(function_base._tracer, "exporting", False):  # ops an export can follow
        from .bag_export import traced_embedding_bag
        return traced_embedding_bag(embedding, input, weight, mode, psw[0] if psw else None,
                                    padding_idx, bag, inside, n)
    keep = inside
    if padding_idx is not None:
        keep = ids != padding_idx if keep is None else keep & (ids != padding_idx)
    if keep is None:
        keep = xp.ones(ids.shape, dtype=xp.bool, device=dev)
    kw = {"ids": ids, "bag": bag, "bags": n, "bad": bad}
    if sparse:
        kw.update(sparse=True, padding_idx=padding_idx)
    if mode == "max":
        if slot is None:  # every id against every bag
            slot = xp.broadcast_to(xp.arange(ids.shape[0], device=dev)[None, :],
                                   (n, ids.shape[0]))
            valid = (bag[None, :] == xp.arange(n, device=dev)[:, None]) & keep[None, :]
        else:
            valid = xp.reshape(keep, slot.shape)
        return EmbeddingBag.apply(weight, slot=slot, valid=valid, **kw)
    scale = xp.astype(keep, weight.dtype)
    if mode == "mean":
        count = index_add(weight._be, xp.zeros((n,), dtype=weight.dtype, device=dev), 0, bag,
                          scale)
        scale = scale / xp.maximum(xp.take(count, bag), xp.ones((), dtype=weight.dtype,
                                                                 device=dev))
    return EmbeddingBag.apply(weight, *psw, scale=scale, **kw)
