"""Recorded backwards (``backward_graph``, for create_graph) of ops whose first-order
backward is written on arrays: atan2, glu, cosine_similarity, scaled_dot_product_attention,
the linear/bicubic interpolation taps and embedding. Each is the op's own gradient formula
written with xpnn ops on Tensors (recomputing what the forward saved from the node's
inputs), so the gradient is itself recorded. Imported by the op files inside their
``backward_graph`` (several of them sit below shape.py in the import order).
"""
from __future__ import annotations

from .broadcast import unbroadcast_graph
from .compare import where
from .indexing import TakeGrad, index_add
from .shape import cat


def constant(like, array):
    """``array`` as a Tensor of ``like``'s backend that needs no gradient."""
    return like._result(array, like._be)


def atan2_graph(node, dY):
    """dA = dY B / (A^2 + B^2), dB = -dY A / (A^2 + B^2); 0 at (0, 0), as backward."""
    A, B = node.inputs
    r2 = A * A + B * B
    zero = (r2 == 0).array
    r2 = where(zero, 1.0, r2)
    dA = unbroadcast_graph(dY * B / r2, A.shape) if node.needs[0] else None
    dB = unbroadcast_graph(-dY * A / r2, B.shape) if node.needs[1] else None
    return dA, dB


def glu_graph(node, dY):
    """[dY sigmoid(B), dY A sigmoid(B) (1 - sigmoid(B))] for the halves A, B of X."""
    X, axis = node.inputs[0], node.axis
    h = X.shape[axis] // 2
    lead = (slice(None),) * axis
    A, Bh = X[lead + (slice(0, h), Ellipsis)], X[lead + (slice(h, None), Ellipsis)]
    S = Bh.sigmoid()
    return cat([dY * S, dY * A * S * (1 - S)], axis)


def cosine_graph(node, dY):
    """CosineSimilarity: dX1 = g (x2 / (c1 c2) - y x1 / (c1 |x1|)), 0 for |x1| = 0, c the
    norms clamped at eps (the clamp constant where it acts, as backward)."""
    X1, X2 = node.inputs
    axis, eps = node.axis, node.eps
    g = dY.unsqueeze(axis)

    def norm(X, N):  # the recorded norm, and it clamped at eps
        zero = (N == 0)
        safe = (X * X).sum(dim=axis, keepdim=True)
        n = where(zero, 1.0, safe).sqrt()
        return n, where(N < eps, eps, n), zero

    n1, c1, z1 = norm(X1, node.N1)
    n2, c2, z2 = norm(X2, node.N2)
    Y = (X1 * X2).sum(dim=axis, keepdim=True) / (c1 * c2)

    def part(Xa, Xb, ca, na, za):
        return g * (Xb / (c1 * c2) - where(za, 0.0, Y / (ca * na)) * Xa)
    dX1 = unbroadcast_graph(part(X1, X2, c1, n1, z1), X1.shape) if node.needs[0] else None
    dX2 = unbroadcast_graph(part(X2, X1, c2, n2, z2), X2.shape) if node.needs[1] else None
    return dX1, dX2


def sdpa_graph(node, dO, dW=None):
    """ScaledDotProductAttention: the node's own backward formula on Tensors. The weights P
    are recomputed as the op's second output (with a dummy value and no dropout, so P's
    graph is this op's again); the dropout mask, drawn once, stays a constant."""
    xp = node.xp
    Q, K, V = node.inputs[:3]
    M = node.inputs[3] if len(node.inputs) > 3 else None
    scale = node.scale
    dummy = constant(Q, xp.zeros((K.shape[-2], 1), dtype=node.P.dtype, device=node.be.device))
    args = (Q, K, dummy) if M is None else (Q, K, dummy, M)
    P = type(node).apply(*args, allowed=node.allowed, dropout_p=0.0, scale=scale,
                         weights=True)[1]
    keep = None if node.keep is None else constant(Q, node.keep)
    Pd = P if keep is None else P * keep
    dV = unbroadcast_graph(Pd.mT @ dO, V.shape) if node.needs[2] else None
    dP = dO @ V.mT
    if dW is not None:
        dP = dP + dW
    if keep is not None:
        dP = dP * keep
    dS = P * (dP - (dP * P).sum(dim=-1, keepdim=True))
    dQ = unbroadcast_graph((dS @ K) * scale, Q.shape) if node.needs[0] else None
    dK = unbroadcast_graph((dS.mT @ Q) * scale, K.shape) if node.needs[1] else None
    if M is None:
        return dQ, dK, dV
    dM = unbroadcast_graph(dS, M.shape) if node.needs[3] else None
    return dQ, dK, dV, dM


def taps_graph(node, dY, taps):
    """Lerp/Blend (interpolation): the sum over taps (index, weight) of dY * weight added at
    the index along the node's axis, recorded (the weights are constants)."""
    dX = None
    for index, weight in taps:
        part = TakeGrad.apply(dY * constant(dY, weight), shape=node.shape, indices=index,
                              axis=node.axis)
        dX = part if dX is None else dX + part
    return dX


def embedding_graph(node, dY):
    """Embedding: dY's rows added at the ids (the padding row 0), recorded; with
    scale_grad_by_freq the value is divided by the id counts, its derivative not (as
    torch 2.13, whose own gradgradcheck fails there: no op has that pair of derivatives)."""
    xp = node.xp
    rows = dY.reshape(-1, node.shape[1])
    dW = TakeGrad.apply(rows, shape=node.shape, indices=node.ids, axis=0)
    if node.by_freq:
        dev = node.be.device
        ones = xp.ones((node.ids.shape[0], 1), dtype=node.dtype, device=dev)
        counts = index_add(node.be, xp.zeros((node.shape[0], 1), dtype=node.dtype,
                                             device=dev), 0, node.ids, ones)
        # torch's value (each row over its id's count) with torch's derivative, which
        # ignores the counts (embedding_dense_double_backward): dW + (scaled - dW), the
        # difference a constant
        scaled = dW.array / xp.where(counts > 0, counts, xp.ones_like(counts))
        dW = dW + constant(dY, scaled - dW.array)
    if node.padding_idx is not None:
        pad = xp.reshape(xp.arange(node.shape[0], device=node.be.device)
                         == node.padding_idx % node.shape[0],
                         (-1, 1))
        dW = where(pad, 0.0, dW)
    return dW


def prelu_graph(node, dY):
    """PReLU: dX = dY where x > 0, else w dY; dw = x dY where x <= 0 (summed to w's
    shape)."""
    X, W = node.inputs
    pos = (X > 0).array
    dX = where(pos, dY, W * dY) if node.needs[0] else None
    dW = unbroadcast_graph(where(pos, 0.0, X * dY), W.shape) if node.needs[1] else None
    return dX, dW


def rms_norm_graph(node, dY):
    """RMSNorm: dX = r (G - xhat mean(G xhat)), G = dY w, r = 1 / sqrt(mean(x^2) + eps),
    dw = the sum of dY xhat over the leading dims; r and xhat recomputed from x."""
    X = node.inputs[0]
    W = node.inputs[1] if len(node.inputs) > 1 else None
    axes = node.axes
    r = ((X * X).mean(dim=axes, keepdim=True) + node.eps).rsqrt()
    Xhat = X * r
    dX = dW = None
    if node.needs[0]:
        G = dY if W is None else dY * W
        dX = r * (G - Xhat * (G * Xhat).mean(dim=axes, keepdim=True))
    if W is not None and node.needs[1]:
        dW = (dY * Xhat).sum(dim=tuple(range(dY.ndim - len(axes))))
    return (dX,) if W is None else (dX, dW)


def hypot_graph(node, dY):
    """Hypot: dA = dY A / Y, dB = dY B / Y with Y recomputed (recorded)."""
    A, B = node.inputs
    Y = type(node).apply(A, B)
    dA = unbroadcast_graph(dY * A / Y, A.shape) if node.needs[0] else None
    dB = unbroadcast_graph(dY * B / Y, B.shape) if node.needs[1] else None
    return dA, dB


def logaddexp_graph(node, dY, ln=1.0):
    """LogAddExp (ln = 1) and LogAddExp2 (ln = log 2): dA = dY exp((A - Y) ln), recorded."""
    A, B = node.inputs
    Y = type(node).apply(A, B)
    dA = unbroadcast_graph(dY * ((A - Y) * ln).exp(), A.shape) if node.needs[0] else None
    dB = unbroadcast_graph(dY * ((B - Y) * ln).exp(), B.shape) if node.needs[1] else None
    return dA, dB
