"""Distances and similarities between vectors, and the losses built on them (embedding,
ranking and triplet losses), with PyTorch's formulas and eps placements.

cosine_similarity is one node; the others compose existing ops (norm, clamp, where), whose
gradients already follow PyTorch's conventions at the kinks (a zero norm has gradient 0,
a clamped entry none).
"""
from __future__ import annotations

from .. import backend as B
from .._errors import DtypeError, ShapeError
from ..autograd import Function, as_tensor
from .broadcast import quiet
from .dtype_refusals import refuse_dtypes
from .elementwise import add, clamp, mul, promote, sqrt, sub, unbroadcast, where
from .loss import _check_reduction, legacy_reduction, reduce_loss
from .reduce import norm, sum
from .shape import _axis


@quiet
class CosineSimilarity(Function):
    """<x1, x2> / (max(|x1|, eps) max(|x2|, eps)) along ``axis``, broadcast.

    As in PyTorch the norms are clamped without the clamp being differentiated (PyTorch
    clamps under no_grad), so dY/dx1 = x2 / (c1 c2) - Y x1 / (c1 |x1|), 0 for |x1| = 0.
    """

    def forward(self, X1, X2, axis=1, eps=1e-8):
        xp = self.xp
        self.X1, self.X2, self.axis, self.eps = X1, X2, axis, eps
        N1 = xp.sqrt(xp.sum(X1 * X1, axis=axis, keepdims=True))
        N2 = xp.sqrt(xp.sum(X2 * X2, axis=axis, keepdims=True))
        self.N1, self.N2 = N1, N2
        self.C1, self.C2 = xp.maximum(N1, eps), xp.maximum(N2, eps)
        self.Y = xp.sum(X1 * X2, axis=axis, keepdims=True) / (self.C1 * self.C2)
        return xp.squeeze(self.Y, axis=axis)

    def backward(self, dY):
        xp, Y, C1, C2 = self.xp, self.Y, self.C1, self.C2
        g = xp.expand_dims(dY, axis=self.axis)

        def part(Xa, Xb, Ca, Na):
            safe = xp.where(Na == 0, xp.ones_like(Na), Na)
            back = xp.where(Na == 0, xp.zeros_like(Na), Y / (Ca * safe))
            return g * (Xb / (C1 * C2) - back * Xa)
        dX1 = unbroadcast(xp, part(self.X1, self.X2, C1, self.N1), self.X1.shape) \
            if self.needs[0] else None
        dX2 = unbroadcast(xp, part(self.X2, self.X1, C2, self.N2), self.X2.shape) \
            if self.needs[1] else None
        return dX1, dX2

    def backward_graph(self, dY):
        from .graph_misc import cosine_graph  # the same formula on Tensors, recorded
        return cosine_graph(self, dY)


def _floating_pair(op, x1, x2):
    a, b = promote(x1, x2, op)
    if not a._be.is_floating(a.dtype):
        raise DtypeError(f"{op}: expected floating inputs, got {B.dtype_name(a.dtype)}")
    return a, b


def cosine_similarity(x1, x2, dim=1, eps=1e-8):
    """Cosine of the angle between x1 and x2 along ``dim`` (broadcast), each norm clamped
    at ``eps``.

    Args:
        x1, x2: floating tensors of broadcastable shapes.
    Returns:
        the broadcast shape without ``dim``.
    """
    a, b = _floating_pair("cosine_similarity", x1, x2)
    from .shape import broadcast_shapes
    try:
        shape = broadcast_shapes(a.shape, b.shape)
    except ValueError:
        raise ShapeError(f"cosine_similarity: x1 of shape {a.shape} and x2 of shape "
                         f"{b.shape} do not broadcast") from None
    d = _axis("cosine_similarity", dim, len(shape))
    from .shape import expand
    # both at the broadcast shape: the norms run over the broadcast ``dim`` (a size-1 side
    # counts once per element of the other, as PyTorch)
    a = a if tuple(a.shape) == tuple(shape) else expand(a, tuple(shape))
    b = b if tuple(b.shape) == tuple(shape) else expand(b, tuple(shape))
    return CosineSimilarity.apply(a, b, axis=d, eps=float(eps))


def pairwise_distance(x1, x2, p=2.0, eps=1e-6, keepdim=False):
    """||x1 - x2 + eps||_p over the last dim (PyTorch adds eps to the difference).

    Returns:
        the broadcast shape without its last dim (kept as 1 with ``keepdim``); integers
        give the default float dtype.
    """
    # PyTorch subtracts first, and refuses a bool operand there
    refuse_dtypes("pairwise_distance", ("bool",), x1, x2, names=("x1", "x2"), runtime=True)
    a, b = promote(x1, x2, "pairwise_distance")
    diff = add(sub(a, b), float(eps))
    return norm(diff, p, dim=-1 if diff.ndim else None, keepdim=keepdim)


def normalize(input, p=2.0, dim=1, eps=1e-12, out=None):
    """input / max(||input||_p, eps) along ``dim``."""
    if out is not None:
        raise TypeError("normalize: out= is not supported; use the returned tensor")
    x = as_tensor(input, op="normalize")
    if not x._be.is_floating(x.dtype):
        raise DtypeError(f"normalize: expected a floating tensor, got "
                        f"{B.dtype_name(x.dtype)}")
    from .elementwise import div
    d = _axis("normalize", dim, x.ndim)
    return div(x, clamp(norm(x, p, dim=d, keepdim=True), min=float(eps)))


# -- losses on distances -----------------------------------------------------------------
def _reduction(op, size_average, reduce, reduction):
    reduction = legacy_reduction(size_average, reduce, reduction)
    _check_reduction(op, reduction)
    return reduction


def _label_is(y, value):
    """A bool array: where the label tensor ``y`` equals ``value``."""
    return y.array == value


def cosine_embedding_loss(input1, input2, target, margin=0.0, size_average=None, reduce=None,
                          reduction="mean"):
    """1 - cos(x1, x2) for target 1, max(0, cos(x1, x2) - margin) for target -1.

    Args:
        input1, input2: (N, D) or (D,). target: (N,) or () of +-1.
    """
    reduction = _reduction("cosine_embedding_loss", size_average, reduce, reduction)
    x1, x2 = _floating_pair("cosine_embedding_loss", input1, input2)
    y = as_tensor(target, like=x1, op="cosine_embedding_loss")
    if y.ndim not in (0, 1):
        raise ShapeError(f"cosine_embedding_loss: 0-D or 1-D target expected, got shape "
                         f"{y.shape}")
    want = y.ndim + 1
    if x1.ndim != want or x2.ndim != want:
        raise ShapeError(f"cosine_embedding_loss: a {y.ndim}-D target needs {want}-D inputs, "
                         f"got shapes {x1.shape} and {x2.shape}")
    if y.ndim and y.shape[0] not in (1, max(x1.shape[0], x2.shape[0])):
        raise ShapeError(f"cosine_embedding_loss: target of shape {y.shape} does not match "
                         f"inputs of shapes {x1.shape} and {x2.shape}")
    d = y.ndim
    # PyTorch's own formula: eps 1e-12 added to each squared norm, a float32 constant in its
    # kernels (so 9.999999960041972e-13 in float64 too)
    dot = sum(mul(x1, x2), dim=d)
    eps = 9.999999960041972e-13
    denom = sqrt(mul(add(sum(mul(x1, x1), dim=d), eps), add(sum(mul(x2, x2), dim=d), eps)))
    cos = dot / denom
    pos = where(_label_is(y, 1), 1.0 - cos, 0.0)
    neg = where(_label_is(y, -1), clamp(cos - float(margin), min=0.0), 0.0)
    return reduce_loss(add(pos, neg), reduction)


def margin_ranking_loss(input1, input2, target, margin=0.0, size_average=None, reduce=None,
                        reduction="mean"):
    """max(0, -target * (input1 - input2) + margin) for targets +-1."""
    reduction = _reduction("margin_ranking_loss", size_average, reduce, reduction)
    x1, x2 = _floating_pair("margin_ranking_loss", input1, input2)
    y = as_tensor(target, like=x1, op="margin_ranking_loss")
    if not (x1.ndim == x2.ndim == y.ndim):
        raise ShapeError(f"margin_ranking_loss: all inputs need the same number of dims, got "
                         f"shapes {x1.shape}, {x2.shape} and {y.shape}")
    loss = clamp(add(mul(-y, sub(x1, x2)), float(margin)), min=0.0)
    return reduce_loss(loss, reduction)


def triplet_margin_loss(anchor, positive, negative, margin=1.0, p=2, eps=1e-6, swap=False,
                        size_average=None, reduce=None, reduction="mean"):
    """max(0, margin + d(a, p) - d(a, n)) with d the pairwise p-distance (Balntas et al.
    2016); ``swap`` uses min(d(a, n), d(p, n)) as the negative distance.

    Args:
        anchor, positive, negative: (N, D) or (D,) (the same number of dims).
    """
    from .elementwise import minimum
    reduction = _reduction("triplet_margin_loss", size_average, reduce, reduction)
    a = as_tensor(anchor, op="triplet_margin_loss")
    pos = as_tensor(positive, like=a, op="triplet_margin_loss")
    neg = as_tensor(negative, like=a, op="triplet_margin_loss")
    if not a.ndim == pos.ndim == neg.ndim:
        raise ShapeError(f"triplet_margin_loss: anchor, positive and negative need the same "
                         f"number of dims, got shapes {a.shape}, {pos.shape} and {neg.shape}")
    if margin <= 0:
        raise ValueError(f"triplet_margin_loss: margin must be > 0, got {margin!r}")
    d_pos = pairwise_distance(a, pos, p, eps)
    d_neg = pairwise_distance(a, neg, p, eps)
    if swap:
        d_neg = minimum(d_neg, pairwise_distance(pos, neg, p, eps))
    return reduce_loss(clamp(add(sub(d_pos, d_neg), float(margin)), min=0.0), reduction)


def triplet_margin_with_distance_loss(anchor, positive, negative, *, distance_function=None,
                                      margin=1.0, swap=False, reduction="mean"):
    """max(0, margin + d(a, p) - d(a, n)) with any distance ``d`` (a callable of two
    Tensors giving one distance per row; pairwise_distance when None); ``swap`` uses
    min(d(a, n), d(p, n)) as the negative distance.

    Args:
        anchor, positive, negative: Tensors with the same number of dims ((N, D) or (D,)).
        distance_function: ``d(x1, x2) -> Tensor`` of non-negative distances.
    Returns:
        The reduced loss (a scalar), or (N,) for reduction="none".
    """
    from .elementwise import minimum
    name = "triplet_margin_with_distance_loss"
    _check_reduction(name, reduction)
    if isinstance(margin, bool) or not isinstance(margin, (int, float)) or margin <= 0:
        raise ValueError(f"{name}: margin must be a number > 0, got {margin!r}")
    if distance_function is not None and not callable(distance_function):
        raise TypeError(f"{name}: distance_function must be callable or None, got "
                        f"{type(distance_function).__name__}")
    a = as_tensor(anchor, op=name)
    pos = as_tensor(positive, like=a, op=name)
    neg = as_tensor(negative, like=a, op=name)
    if not a.ndim == pos.ndim == neg.ndim:
        raise ShapeError(f"{name}: anchor, positive and negative need the same number of "
                         f"dims, got shapes {a.shape}, {pos.shape} and {neg.shape}")
    dist = pairwise_distance if distance_function is None else distance_function
    d_pos, d_neg = dist(a, pos), dist(a, neg)
    if swap:
        d_neg = minimum(d_neg, dist(pos, neg))
    return reduce_loss(clamp(add(sub(d_pos, d_neg), float(margin)), min=0.0), reduction)


def hinge_embedding_loss(input, target, margin=1.0, size_average=None, reduce=None,
                         reduction="mean"):
    """input where target is 1, max(0, margin - input) where it is -1 (both terms where
    it is neither, as PyTorch computes it)."""
    reduction = _reduction("hinge_embedding_loss", size_average, reduce, reduction)
    x = as_tensor(input, op="hinge_embedding_loss")
    refuse_dtypes("hinge_embedding_loss", ("complex",), x)  # PyTorch's clamp: none
    if not x._be.is_floating(x.dtype):
        raise DtypeError(f"hinge_embedding_loss: expected a floating input, got "
                        f"{B.dtype_name(x.dtype)}")
    y = as_tensor(target, like=x, op="hinge_embedding_loss")
    hinge = where(~_label_is(y, 1), clamp(sub(float(margin), x), min=0.0), 0.0)
    return reduce_loss(add(hinge, where(~_label_is(y, -1), x, 0.0)), reduction)
