"""ONNX conversions of the layer ops: convolution, pooling, normalization, recurrent layers
and attention (xpnn/functional: conv, pool, norm, recurrent, attention)."""
from __future__ import annotations

import math
from importlib import import_module

import numpy as np

from .registry import REFUSED, UNREAD, classes, converts, static, unsupported

# by module path: xpnn.functional re-exports functions named like some of its modules
# (norm, embedding, dropout), so attribute access would find those instead
At = import_module("xpnn.functional.attention")
C = import_module("xpnn.functional.conv")
N = import_module("xpnn.functional.norm")
P = import_module("xpnn.functional.pool")
Rnn = import_module("xpnn.functional.recurrent")


# -- convolution --------------------------------------------------------------------------
@converts(C.ConvNd)
def _conv(g, n):
    x, geo, transposed = n.ins[0], n.p["geo"], n.p.get("transposed", False)
    keep = slice(4 - x.ndim, 2)  # geo is 2-D; a 1-D conv has a unit H axis in front
    pads = geo["pads"][keep]
    attrs = dict(kernel_shape=list(geo["kernel"][keep]), strides=list(geo["stride"][keep]),
                 dilations=list(geo["dilation"][keep]), group=int(geo["groups"]),
                 pads=[p[0] for p in pads] + [p[1] for p in pads])
    if transposed:
        attrs["output_padding"] = list(geo["output_padding"][keep])
    return g.op("ConvTranspose" if transposed else "Conv", [r.name for r in n.ins], **attrs)


# -- pooling ------------------------------------------------------------------------------
def _pool_geo(n, x):
    kernel, stride, pad, dilation, _, extra = n.p["geo"]
    static(n, (kernel, stride, pad, dilation, extra), "pooling geometry")
    keep = slice(4 - x.ndim, 2)
    return kernel[keep], stride[keep], pad[keep], dilation[keep], extra[keep]


def _padded(g, x, pad, extra, value):
    """x padded explicitly: ``pad`` on both sides plus ``extra`` at the end (ceil_mode)."""
    pads = [0, 0] + list(pad) + [0, 0] + [p + e for p, e in zip(pad, extra)]
    return g.op("Pad", [x.name, g.ints(pads), g.scalar(value, x.dtype)], mode="constant")


def _without_out_size(p):
    """MaxPool's params less the output size in ``geo`` (MaxPool computes it; with a
    dynamic H or W it is floor((H + 2p - k) / s) + 1, which the traces cannot fit)."""
    geo = p.get("geo")
    return p if geo is None else {**p, "geo": tuple(geo[:4]) + (None,) + tuple(geo[5:])}


UNREAD[P.MaxPool] = _without_out_size


@converts(P.MaxPool, dynamic=("geo",))
def _max_pool(g, n):
    x = n.ins[0]
    kernel, stride, pad, dilation, extra = _pool_geo(n, x)
    attrs = dict(kernel_shape=list(kernel), strides=list(stride), dilations=list(dilation))
    if any(extra):  # ceil_mode's last partial window: pad with -inf, which never wins
        src, attrs["pads"] = _padded(g, x, pad, extra, -math.inf), [0] * (2 * len(pad))
    else:
        src, attrs["pads"] = x.name, list(pad) * 2
    if not n.p.get("indices", False):
        return g.op("MaxPool", [src], **attrs)
    if any(extra):
        raise unsupported(n, "return_indices with ceil_mode padding")
    y, flat = g.op("MaxPool", [src], n_out=2, **attrs)
    # ONNX counts over the whole flattened (N, C, H, W) input; PyTorch within each plane
    plane = math.prod(static(n, x.shape[2:], "spatial size"))
    return y, g.op("Mod", [flat, g.const(np.asarray(plane, dtype=np.int64), "plane")])


def _avg_divisor(shape, kernel, stride, pad, out, include_pad):
    """The per-window divisor of xpnn's average pooling, (Ho, Wo), on the host."""
    sizes = []
    for size, k, s, p, o in zip(shape, kernel, stride, pad, out):
        lo, hi = (-p, size + p) if include_pad else (0, size)
        sizes.append([min(i * s - p + k, hi) - max(i * s - p, lo) for i in range(o)])
    return np.outer(sizes[0], sizes[1])


@converts(P.AvgPool, dynamic=("geo",))
def _avg_pool(g, n):
    x = n.ins[0]
    kernel, stride, pad, _, extra = _pool_geo(n, x)
    include_pad, override = n.p.get("count_include_pad", True), n.p.get("divisor_override")
    attrs = dict(kernel_shape=list(kernel), strides=list(stride))
    if not any(extra) and override is None:
        return g.op("AveragePool", [x.name], pads=list(pad) * 2,
                    count_include_pad=int(bool(include_pad)), **attrs)
    # general case: sum each window of the zero-padded input, divide as xpnn does
    geo = n.p["geo"]
    spatial = static(n, (1,) * (4 - x.ndim) + tuple(x.shape[2:]), "spatial size")
    div = float(override) if override is not None else _avg_divisor(
        spatial, geo[0], geo[1], geo[2], static(n, geo[4], "output size"), include_pad)
    ratio = np.asarray(math.prod(kernel) / np.asarray(div, dtype=np.float64), dtype=x.dtype)
    if ratio.ndim == 2 and x.ndim == 3:
        ratio = ratio[0]
    mean = g.op("AveragePool", [_padded(g, x, pad, extra, 0.0)], **attrs)
    return g.op("Mul", [mean, g.const(ratio, "divisor")])


def _averager(size, out):
    """(out, size): row i averages entries floor(i size / out) .. ceil((i+1) size / out) - 1."""
    i = np.arange(out)[:, None]
    pos = np.arange(size)[None, :]
    inside = ((pos >= (i * size) // out) & (pos < -((-(i + 1) * size) // out))).astype(float)
    return inside / inside.sum(axis=1, keepdims=True)


@converts(P.AdaptiveAvgPool)
def _adaptive_avg_pool(g, n):
    x, (oh, ow) = n.ins[0], n.p["out"]
    if (oh, ow) == (1, 1):
        return g.op("GlobalAveragePool", [x.name])
    H, W = static(n, x.shape[2:], "spatial size")
    if H % oh == 0 and W % ow == 0:  # equal windows: an ordinary average pooling
        k = [H // oh, W // ow]
        return g.op("AveragePool", [x.name], kernel_shape=k, strides=k)
    rows = g.const(_averager(H, oh).astype(x.dtype), "averager")
    cols = g.const(_averager(W, ow).T.astype(x.dtype), "averager")
    return g.op("MatMul", [g.op("MatMul", [rows, x.name]), cols])


# adaptive max pooling: ops_more.py (windows of unequal size too)


# -- normalization ------------------------------------------------------------------------
def _affine(n):
    """(weight name or None, bias name or None) from the op's optional affine inputs."""
    named = dict(zip(n.p.get("affine", ()), n.ins[1:]))
    return (named["weight"].name if "weight" in named else None,
            named["bias"].name if "bias" in named else None)


def _running_var(g, mean, inv):
    """(variance name, epsilon) that give the normalization's ``inv`` = 1/sqrt(var + eps):
    the module's own running_var buffer and eps where ``mean`` is a running_mean buffer
    (as PyTorch exports it), else var = 1/inv^2 with eps = 0."""
    label = mean.label if mean.kind == "param" else None
    if label and label.endswith("running_mean") and g.root is not None:
        prefix = label[:-len("running_mean")]
        var = g.params.get(prefix + "running_var")
        try:
            eps = float(g.root.get_submodule(prefix.rstrip(".")).eps)
        except (AttributeError, TypeError, ValueError):
            eps = None
        if var is not None and eps is not None and np.allclose(
                1 / np.sqrt(var.host.astype(np.float64) + eps), inv.host, rtol=1e-5):
            return var.name, eps
    var = (1 / inv.host.astype(np.float64)) ** 2
    return g.const(var.astype(inv.dtype), "running_var"), 0.0


@converts(N.BatchNorm)
def _batch_norm(g, n):
    if n.p.get("xc") is not None:
        raise unsupported(n, "batch statistics (training mode, or track_running_stats=False) "
                             "are computed from the batch outside the graph; export a model "
                             "in eval mode with running statistics")
    x = n.ins[0]
    C_ = static(n, x.shape[1], "channel count")
    weight, bias = _affine(n)
    weight = weight or g.const(np.ones(C_, dtype=x.dtype), "ones")
    bias = bias or g.const(np.zeros(C_, dtype=x.dtype), "zeros")
    var, eps = _running_var(g, n.p["mean"], n.p["inv"])
    return g.op("BatchNormalization", [x.name, weight, bias, n.p["mean"].name, var],
                epsilon=eps)


@converts(N.LayerNorm)
def _layer_norm(g, n):
    x, k = n.ins[0], int(n.p.get("k", 1))
    shape = static(n, x.shape[x.ndim - k:], "normalized shape")
    weight, bias = _affine(n)
    inputs = [x.name, weight or g.const(np.ones(shape, dtype=x.dtype), "ones")]
    if bias:
        inputs.append(bias)
    return g.op("LayerNormalization", inputs, axis=-k, epsilon=float(n.p.get("eps", 1e-5)))


@converts(N.GroupNorm)
def _group_norm(g, n):
    """InstanceNormalization over (N, groups, C/groups * spatial), then the per-channel
    affine map: ONNX's GroupNormalization changed meaning in opset 21, this form did not."""
    x, groups = n.ins[0], int(n.p.get("groups", 1))
    C_ = static(n, x.shape[1], "channel count")
    grouped = g.op("Reshape", [x.name, g.ints([0, groups, -1])])
    ones, zeros = np.ones(groups, dtype=x.dtype), np.zeros(groups, dtype=x.dtype)
    y = g.op("InstanceNormalization", [grouped, g.const(ones, "ones"), g.const(zeros, "zeros")],
             epsilon=float(n.p.get("eps", 1e-5)))
    y = g.op("Reshape", [y, g.op("Shape", [x.name])])
    weight, bias = _affine(n)
    per_channel = g.ints([C_] + [1] * (x.ndim - 2))
    if weight:
        y = g.op("Mul", [y, g.op("Reshape", [weight, per_channel])])
    if bias:
        y = g.op("Add", [y, g.op("Reshape", [bias, per_channel])])
    return y


# -- recurrent layers ---------------------------------------------------------------------
# PyTorch's gate blocks in ONNX's order: LSTM (i, f, g, o) -> (i, o, f, c); GRU (r, z, n)
# -> (z, r, h)
_GATE_ORDER = {"LSTM": (0, 3, 1, 2), "GRU": (1, 0, 2), "RNN": (0,)}


def _gates(g, ref, kind, H):
    order = _GATE_ORDER[kind]
    if order == tuple(range(len(order))):
        return ref.name
    idx = np.concatenate([np.arange(b * H, (b + 1) * H) for b in order]).astype(np.int64)
    return g.op("Gather", [ref.name, g.const(idx, "gate_order")], axis=0)


def _recurrent(g, n, kind):
    lstm = kind == "LSTM"
    x, h0 = n.ins[0], n.ins[1]
    c0, rest = (n.ins[2], n.ins[3:]) if lstm else (None, n.ins[2:])
    W_ih, W_hh, biases = rest[0], rest[1], rest[2:]
    H = static(n, W_hh.shape[1], "hidden size")
    axis0 = g.ints([0])
    W = g.op("Unsqueeze", [_gates(g, W_ih, kind, H), axis0])
    R = g.op("Unsqueeze", [_gates(g, W_hh, kind, H), axis0])
    Bias = g.op("Unsqueeze", [g.op("Concat", [_gates(g, b, kind, H) for b in biases], axis=0),
                              axis0]) if biases else ""
    # a zero initial state is ONNX's default: leaving it out keeps the batch size free
    states = [("" if s.is_zero() else g.op("Unsqueeze", [s.name, axis0]))
              for s in ([h0, c0] if lstm else [h0])]
    inputs = [x.name, W, R, Bias, ""] + states
    while inputs[-1] == "":
        inputs.pop()
    attrs = dict(hidden_size=H, direction="reverse" if n.p.get("reverse") else "forward")
    if kind == "RNN":
        attrs["activations"] = ["Relu" if n.p.get("relu") else "Tanh"]
    if kind == "GRU":
        attrs["linear_before_reset"] = 1  # PyTorch's n = tanh(W x + b + r * (U h + b_hn))
    outs = g.op(kind, inputs, n_out=3 if lstm else 2, **attrs)
    # (T, 1, N, H) and (1, N, H): one direction per xpnn node
    y = g.op("Squeeze", [outs[0], g.ints([1])])
    return (y,) + tuple(g.op("Squeeze", [o, axis0]) for o in outs[1:])


@converts(Rnn.LSTMLayer)
def _lstm(g, n):
    if n.p.get("proj"):
        raise unsupported(n, "an LSTM with proj_size has no ONNX LSTM operator (it has no "
                             "projection)")
    return _recurrent(g, n, "LSTM")


@converts(Rnn.GRULayer)
def _gru(g, n):
    return _recurrent(g, n, "GRU")


@converts(Rnn.RNNLayer)
def _rnn(g, n):
    return _recurrent(g, n, "RNN")


for _cls in classes("recurrent_packed", "PackedRNNLayer", "PackedLSTMLayer", "PackedGRULayer"):
    REFUSED[_cls] = (
        "a PackedSequence's layout (which sequences still run at each step) is worked out "
        "on the host from the lengths' values, so a trace would freeze the lengths it saw; "
        "run the layer on the padded batch and pick each sequence's last output with "
        "gather(out, 1, lengths - 1) (a forward direction's h_n), which exports")


# -- attention ----------------------------------------------------------------------------
@converts(At.ScaledDotProductAttention)
def _attention(g, n):
    """softmax(Q K^T scale + M, masked) V as MatMul / Softmax nodes."""
    if n.p.get("dropout_p", 0.0) > 0:
        raise unsupported(n, "dropout on the attention weights is random; pass dropout_p=0 "
                             "(nn.MultiheadAttention does in eval mode)")
    q, k, v = n.ins[:3]
    perm = list(range(k.ndim))
    perm[-2:] = perm[-1], perm[-2]
    scores = g.op("MatMul", [q.name, g.op("Transpose", [k.name], perm=perm)])
    scores = g.op("Mul", [scores, g.scalar(float(n.p.get("scale", 1.0)), q.dtype)])
    masked = len(n.ins) > 3 or n.p.get("allowed") is not None
    if len(n.ins) > 3:
        scores = g.op("Add", [scores, n.ins[3].name])
    if n.p.get("allowed") is not None:
        scores = g.op("Where", [n.p["allowed"].name, scores, g.scalar(-math.inf, q.dtype)])
    weights = g.op("Softmax", [scores], axis=-1)
    if masked:  # a row that may attend nowhere gets zero weights (NaN from Softmax), as xpnn
        weights = g.op("Where", [g.op("IsNaN", [weights]), g.scalar(0.0, q.dtype), weights])
    out = g.op("MatMul", [weights, v.name])
    return (out, weights) if n.p.get("weights", False) else out


@converts(*classes("distance", "CosineSimilarity"))
def _cosine_similarity(g, n):
    """<x1, x2> / (max(|x1|, eps) max(|x2|, eps)) along ``axis``, as xpnn computes it."""
    a, b = n.ins
    axis, eps = int(n.p.get("axis", 1)), g.scalar(float(n.p.get("eps", 1e-8)), a.dtype)

    def norm(r):
        return g.op("Max", [g.op("Sqrt", [g.reduce("ReduceSum", g.op("Mul", [r.name, r.name]),
                                                   [axis], True)]), eps])
    dot = g.reduce("ReduceSum", g.op("Mul", [a.name, b.name]), [axis], True)
    y = g.op("Div", [dot, g.op("Mul", [norm(a), norm(b)])])
    return g.op("Squeeze", [y, g.ints([axis])])
