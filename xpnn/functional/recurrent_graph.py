"""The recorded backward (``backward_graph``, for create_graph) of recurrent.py's fused layers.

A fused layer's first-order backward is back-propagation through time on arrays. For a
higher-order gradient the layer is run again from its inputs as the composite math, one cell
at a time with xpnn ops (linear, sigmoid, tanh, relu, slices), and the gradient of that
recomputation is taken with ``create_graph=True``: the same values as the fused backward
(up to rounding), recorded, so they can be differentiated again (to any order). This code runs
only under create_graph; the fused forward and backward are untouched.

Each input the node needs a gradient for enters the recomputation as a recorded copy
(``clone``): the inner :func:`~xpnn.autograd.grad` then stops there (it does not run the
graph below the layer) and gives one gradient per input even when the same tensor is passed
twice (h0 and c0, say), as the outer sweep sums per input.
"""
from __future__ import annotations

from ..autograd import grad
from .activation import relu
from .activation_pointwise import sigmoid, tanh
from .linalg import linear
from .shape import stack


def recurrent_backward_graph(node, *dYs):
    """``backward_graph`` of RNNLayer, LSTMLayer and GRULayer: one gradient per input (None
    where not needed), recorded, with the output gradients ``dYs`` (Tensors; the sweep fills
    a missing one with zeros)."""
    return recomputed_grads(node, _RUN[type(node).__name__], dYs)


def recomputed_grads(node, run, dYs):
    """The gradients of ``run(node, *inputs)`` (the op recomputed from recorded xpnn ops)
    w.r.t. the inputs ``node`` needs, for the output gradients ``dYs``, recorded
    (create_graph): a ``backward_graph`` for any op whose forward can be written so."""
    ins = [t.clone() if need else t for t, need in zip(node.inputs, node.needs)]
    outs = run(node, *ins)
    wanted = [i for i, need in enumerate(node.needs) if need]
    res = [None] * len(ins)
    if not wanted:
        return tuple(res)
    gs = grad(list(outs) if isinstance(outs, tuple) else outs, [ins[i] for i in wanted],
              grad_outputs=list(dYs), create_graph=True, allow_unused=True)
    for i, g in zip(wanted, gs):
        res[i] = g
    return tuple(res)


def _steps(T, reverse):
    return range(T - 1, -1, -1) if reverse else range(T)


def _rnn(node, X, h0, W_ih, W_hh, b_ih=None, b_hh=None):
    """h_t = act(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)."""
    act = relu if node.relu else tanh
    Zx = linear(X, W_ih, b_ih)  # every step's input side at once
    h, Y = h0, [None] * X.shape[0]
    for t in _steps(X.shape[0], node.reverse):
        h = act(Zx[t] + linear(h, W_hh, b_hh))
        Y[t] = h
    return stack(Y), h


def _lstm(node, X, h0, c0, W_ih, W_hh, *rest):
    """PyTorch's LSTM cell (gates i, f, g, o), with the projection h = W_hr (o tanh(c))."""
    proj = node.W_hr is not None
    W_hr = rest[-1] if proj else None
    b_ih, b_hh = rest[:2] if len(rest) - proj == 2 else (None, None)
    H = W_hh.shape[0] // 4
    Zx = linear(X, W_ih, b_ih)
    h, c, Y = h0, c0, [None] * X.shape[0]
    for t in _steps(X.shape[0], node.reverse):
        z = Zx[t] + linear(h, W_hh, b_hh)
        i, f = sigmoid(z[:, :H]), sigmoid(z[:, H:2 * H])
        g, o = tanh(z[:, 2 * H:3 * H]), sigmoid(z[:, 3 * H:])
        c = f * c + i * g
        h = o * tanh(c)
        if proj:
            h = linear(h, W_hr)
        Y[t] = h
    return stack(Y), h, c


def _gru(node, X, h0, W_ih, W_hh, b_ih=None, b_hh=None):
    """PyTorch's GRU cell: n = tanh(W_in x + b_in + r (W_hn h + b_hn)),
    h_t = (1 - z) n + z h_{t-1}."""
    H = W_hh.shape[1]
    Zx = linear(X, W_ih, b_ih)
    h, Y = h0, [None] * X.shape[0]
    for t in _steps(X.shape[0], node.reverse):
        zx, zh = Zx[t], linear(h, W_hh, b_hh)
        r = sigmoid(zx[:, :H] + zh[:, :H])
        z = sigmoid(zx[:, H:2 * H] + zh[:, H:2 * H])
        n = tanh(zx[:, 2 * H:] + r * zh[:, 2 * H:])
        h = n + z * (h - n)
        Y[t] = h
    return stack(Y), h


_RUN = {"RNNLayer": _rnn, "LSTMLayer": _lstm, "GRULayer": _gru}
