"""The formulas behind ``torch.utils.flop_counter`` (flop_counter.py): PyTorch's counts of
its matrix-product, convolution and attention ops, and for each xpnn op that computes such
products (matmul, linear, convolution, attention, the recurrent layers) the aten ops and
argument shapes it amounts to, forward and backward. :func:`register_flop_formula` adds or
replaces formulas.
"""
from __future__ import annotations

from math import prod

MM, ADDMM, BMM, BADDBMM = "aten.mm", "aten.addmm", "aten.bmm", "aten.baddbmm"
CONV, CONV_BW = "aten.convolution", "aten.convolution_backward"
SDPA = "aten._scaled_dot_product_flash_attention"
SDPA_BW = "aten._scaled_dot_product_flash_attention_backward"


# -- PyTorch's formulas (each product counts 2 flops per multiply-add) -----------------------
def mm_flop(a_shape, b_shape, *args, out_shape=None, **kwargs):
    """(m, k) @ (k, n): 2 m k n."""
    return 2 * a_shape[0] * a_shape[1] * b_shape[1]


def addmm_flop(self_shape, a_shape, b_shape, out_shape=None, **kwargs):
    """The product of addmm; the addition is not counted."""
    return mm_flop(a_shape, b_shape)


def bmm_flop(a_shape, b_shape, out_shape=None, **kwargs):
    """(b, m, k) @ (b, k, n): 2 b m k n."""
    return 2 * a_shape[0] * a_shape[1] * a_shape[2] * b_shape[2]


def baddbmm_flop(self_shape, a_shape, b_shape, out_shape=None, **kwargs):
    return bmm_flop(a_shape, b_shape)


def conv_flop_count(x_shape, w_shape, out_shape, transposed=False):
    """PyTorch's convolution count: 2 N C_out C_in' prod(kernel) prod(spatial), the spatial
    size being the output's (the input's for a transposed convolution), C_in' = w_shape[1]."""
    spatial = (x_shape if transposed else out_shape)[2:]
    return 2 * x_shape[0] * w_shape[0] * w_shape[1] * prod(w_shape[2:]) * prod(spatial)


def sdpa_flop_count(query_shape, key_shape, value_shape):
    """Q K^T and P V of attention over (b, h, L, E) query, (b, h, S, E) key, (b, h, S, Ev)."""
    *lead, L, E = query_shape
    S, Ev = key_shape[-2], value_shape[-1]
    return 2 * prod(lead) * L * S * (E + Ev)


def sdpa_backward_flop_count(grad_out_shape, query_shape, key_shape, value_shape):
    """The scores recomputed, then dP, dV, dQ and dK: five products."""
    *lead, L, E = query_shape
    S, Ev = key_shape[-2], value_shape[-1]
    return 2 * prod(lead) * L * S * (3 * E + 2 * Ev)


_PRODUCTS = {MM: mm_flop, ADDMM: addmm_flop, BMM: bmm_flop, BADDBMM: baddbmm_flop}
_registry = {}  # register_flop_formula's: normalized target -> formula(*args, out_val=)


def _shapes(formula):
    """Torch's shape_wrapper: call ``formula`` with shapes where tensors were passed."""
    def wrapped(*args, out_val=None, **kwargs):
        args = [getattr(a, "shape", a) for a in args]
        out = tuple(getattr(o, "shape", o) for o in out_val) if isinstance(
            out_val, (tuple, list)) else getattr(out_val, "shape", out_val)
        return formula(*args, out_shape=out, **kwargs)
    wrapped.__wrapped__ = formula
    return wrapped


def _target_key(target):
    from ..autograd.function_base import Function
    if isinstance(target, type) and issubclass(target, Function):
        return target
    name = target if isinstance(target, str) else str(target)
    name = name if name.startswith("aten.") else "aten." + name
    if name not in _PRODUCTS:
        raise ValueError(f"register_flop_formula(targets): expected each target to be an xpnn "
                         f"Function subclass or one of {sorted(_PRODUCTS)} (a name or an "
                         f"object whose str is one), got {target!r} of type "
                         f"{type(target).__name__}")
    return name


def register_flop_formula(targets, get_raw=False):
    """Decorator: count ``targets`` (one or a list) with the decorated formula in every
    :class:`FlopCounterMode`. The formula gets the op's arguments as shapes and
    ``out_shape=`` (``get_raw=True``: the tensors and ``out_val=``); see the module docstring
    for the targets accepted. Returns the registered (wrapped) formula."""
    def register_fun(formula):
        formula = formula if get_raw else _shapes(formula)
        for target in targets if isinstance(targets, (list, tuple)) else (targets,):
            key = _target_key(target)
            if key in _registry:
                raise RuntimeError(f"duplicate registrations for {target}")
            _registry[key] = formula
        return formula
    return register_fun


# -- what each xpnn op computes, as (key, argument shapes) of PyTorch's aten ops ------------
def _product(batch, m, k, n, key=None):
    """One product of ``batch`` (m, k) @ (k, n) matrices: mm when unbatched, bmm else."""
    if key is not None:
        return key, ((batch * m, k), (k, n))
    return (MM, ((m, k), (k, n))) if batch == 1 else (BMM, ((batch, m, k), (batch, k, n)))


def _bcast(a, b):
    return tuple(max(x, y) for x, y in zip((1,) * (len(b) - len(a)) + tuple(a),
                                           (1,) * (len(a) - len(b)) + tuple(b)))


def _matmul(cls, needs, inputs, params, backward):
    A, B = inputs[0].shape, inputs[1].shape
    (m, k), n = A[-2:], B[-1]
    batch = prod(_bcast(A[:-2], B[:-2]))
    # PyTorch folds a batch against a single matrix into one mm; bmm when both are batched
    key = MM if len(A) == 2 or len(B) == 2 else None
    if not backward:
        return [_product(batch, m, k, n, key)]
    return ([_product(batch, m, n, k, key)] if needs[0] else []) + \
        ([_product(batch, k, m, n, key)] if needs[1] else [])


def _linear(cls, needs, inputs, params, backward):
    (N, K), M = inputs[0].shape, inputs[1].shape[0]
    if not backward:
        if len(inputs) > 2:
            return [(ADDMM, (inputs[2].shape, (N, K), (K, M)))]
        return [(MM, ((N, K), (K, M)))]
    return ([(MM, ((N, M), (M, K)))] if needs[0] else []) + \
        ([(MM, ((M, N), (N, K)))] if needs[1] else [])


def _conv(cls, needs, inputs, params, backward):
    x, w, tr = tuple(inputs[0].shape), tuple(inputs[1].shape), params.get("transposed", False)
    if not backward:
        return [(CONV, conv_flop_count(x, w, params["_out"], tr))]
    y = params["_out"]
    flops = 0
    if needs[0]:
        flops += conv_flop_count(y, w, x, not tr)
    if needs[1]:
        t = lambda s: (s[1], s[0]) + tuple(s[2:])  # noqa: E731
        flops += conv_flop_count(t(y), t(x), t(w)) if tr else conv_flop_count(t(x), t(y), t(w))
    return [(CONV_BW, flops)] if needs[0] or needs[1] else []


def _sdpa(cls, needs, inputs, params, backward):
    q, k, v = (tuple(t.shape) for t in inputs[:3])
    lead = _bcast(_bcast(q[:-2], k[:-2]), v[:-2])
    bh, (L, E), S, Ev = prod(lead), q[-2:], k[-2], v[-1]
    if not params.get("weights"):  # the fused kernel (what PyTorch counts on CUDA)
        if backward:
            return [(SDPA_BW, sdpa_backward_flop_count(None, (bh, L, E), (bh, S, E),
                                                         (bh, S, Ev)))]
        return [(SDPA, sdpa_flop_count((bh, L, E), (bh, S, E), (bh, S, Ev)))]
    # with the weights returned, PyTorch's multi-head attention runs its bmm's instead
    if not backward:
        return [(BMM, ((bh, L, E), (bh, E, S))), (BMM, ((bh, L, S), (bh, S, Ev)))]
    nq, nk, nv = needs[:3]
    out = [(BMM, ((bh, L, Ev), (bh, Ev, S)))] if nq or nk else []
    out += [(BMM, ((bh, S, L), (bh, L, Ev)))] if nv else []
    out += [(BMM, ((bh, L, S), (bh, S, E)))] if nq else []
    return out + ([(BMM, ((bh, S, L), (bh, L, E)))] if nk else [])


def _recurrent(cls, needs, inputs, params, backward):
    """One layer of RNN/LSTM/GRU as PyTorch's native kernel runs it: the input projection
    over all steps at once, then one hidden product per step (the first one's dh only when
    h0 needs a gradient)."""
    wi = 3 if cls.__name__ == "LSTMLayer" else 2  # LSTM: X, h0, c0, W_ih, W_hh, ...
    T, N, I = inputs[0].shape
    G, H = inputs[wi + 1].shape  # W_hh: (gates * H, hidden in)
    bias = len(inputs) >= wi + 4
    rows = T * N
    if not backward:
        key = ADDMM if bias else MM
        ev = [(key, ((G,), (rows, I), (I, G))) if bias else (key, ((rows, I), (I, G)))]
        step = ((G,), (N, H), (H, G)) if bias else ((N, H), (H, G))
        ev += [(key, step)] * T
        if params.get("proj"):
            P, Hc = inputs[-1].shape
            ev += [(MM, ((N, Hc), (Hc, P)))] * T
        return ev
    ev = [(MM, ((rows, G), (G, I)))] if needs[0] else []
    ev += [(MM, ((G, rows), (rows, I)))] if needs[wi] else []
    ev += [(MM, ((G, N), (N, H)))] * T if needs[wi + 1] else []
    ev += [(MM, ((N, G), (G, H)))] * (T - 1 + bool(needs[1]))
    if params.get("proj"):
        P, Hc = inputs[-1].shape
        ev += [(MM, ((P, N), (N, Hc)))] * T if needs[-1] else []
        ev += [(MM, ((N, P), (P, Hc)))] * T
    return ev


def _builtin():
    """Function class -> its counter; imported here, as the ops import utils."""
    from ..functional.attention import ScaledDotProductAttention
    from ..functional.conv import ConvNd
    from ..functional.linalg import Linear, MatMul
    from ..functional.recurrent import GRULayer, LSTMLayer, RNNLayer
    return {MatMul: _matmul, Linear: _linear, ConvNd: _conv,
            ScaledDotProductAttention: _sdpa, LSTMLayer: _recurrent, GRULayer: _recurrent,
            RNNLayer: _recurrent}


_RULES = (_matmul, _linear, _conv, _sdpa, _recurrent)


def _default(key, args):
    return _PRODUCTS[key](*args)
