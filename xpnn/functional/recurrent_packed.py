"""Recurrent layers over a packed sequence: one fused node per layer and direction, whose batch
shrinks as sequences end, as PyTorch runs a ``PackedSequence``.

The input is the packed data X (S, I) (S the sum of the lengths) and ``sizes``, the batch
sizes per step as host ints (decreasing): step t reads rows ``offset[t]:offset[t] + sizes[t]``
of X, which belong to the first sizes[t] sequences of the sorted batch. Only those rows of the
state are updated at step t, so every product shrinks with the batch, and a sequence that has
ended keeps its last state, which is its h_n (c_n).

- Forward direction (t = 0, 1, ...): the active rows shrink; rows that stop are stored in
  h_n, the rest carry on as the first rows of the state.
- Reverse direction (t = T-1, ..., 0): each sequence starts at its own last step, so rows
  join (from h0) as t falls, and at t = 0 all N rows are active: that state is h_n.

The backward runs the same schedule the other way round (rows join where the forward dropped
them, and leave into dh0 where the forward let them join): :func:`_resize` does both. Each
step reads the input side from one product of all steps done up front (Zx = X W_ih^T + b)
and runs one product with the state; the weight gradients are products over all steps after
the loop. The unpacked layers (recurrent.py) are separate, so their step loops carry no
packing work.
"""
from __future__ import annotations

from ..autograd import Function
from .broadcast import quiet
from .activation import relu
from .activation_pointwise import sigmoid, tanh
from .linalg import linear, mm2d, product_loop, reused
from .recurrent_graph import recomputed_grads
from .recurrent_steps import _gate_affine, _transposed, _weight_grads
from .shape import cat


def _offsets(sizes):
    """Where each step's rows start in the packed data."""
    out, start = [], 0
    for b in sizes:
        out.append(start)
        start += b
    return out


def _order(T, reverse):
    return range(T - 1, -1, -1) if reverse else range(T)


def _resize(xp, s, b, full, out):
    """The active state for a step of ``b`` rows from ``s`` (its first k rows active): rows
    that stop (b < k) are stored in ``out``, rows that start (b > k) are taken from ``full``."""
    k = s.shape[0]
    if b < k:
        out[b:k, ...] = s[b:k, ...]
        return s[:b, ...]
    if b > k:
        return xp.concat([s, full[k:b, ...]], axis=0)
    return s


def _final(xp, like):
    """An empty (N, .) array like ``like`` for a final state: :func:`_resize` stores the rows
    that stop into it, :func:`_flush` the rows still active after the last step."""
    return xp.empty(like.shape, dtype=like.dtype, device=like.device)


def _flush(out, s):
    out[:s.shape[0], ...] = s
    return out


def _grads_2d(be, needs, X, Hp, dZx, dZh, W_ih, has_bias):
    """recurrent_steps._weight_grads on packed (S, .) arrays (one step of S rows)."""
    xp = be.xp
    e = dZx[:, None, :]
    dX, *dW = _weight_grads(be, needs, X[:, None, :], Hp[:, None, :], e,
                            e if dZh is dZx else dZh[:, None, :], W_ih, has_bias)
    return (None if dX is None else xp.reshape(dX, X.shape), *dW)


@quiet
class PackedRNNLayer(Function):
    """h_t = act(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh) over packed steps (act tanh or relu)."""

    def forward(self, X, h0, W_ih, W_hh, b_ih=None, b_hh=None, sizes=(), relu=False,
                reverse=False):
        xp, be = self.xp, self.be
        H = W_hh.shape[1]
        Zx = mm2d(be, X, xp.matrix_transpose(W_ih), None if b_ih is None else b_ih + b_hh)
        W_hhT = reused(be, _transposed(xp, W_hh))
        Y = xp.empty((X.shape[0], H), dtype=X.dtype, device=X.device)
        Hp = xp.empty(Y.shape, dtype=X.dtype, device=X.device) if self.record else None
        off, order = _offsets(sizes), _order(len(sizes), reverse)
        hn = _final(xp, h0)
        h = h0[:sizes[order[0]], ...]
        with product_loop(be):
            for t in order:
                o, b = off[t], sizes[t]
                h = _resize(xp, h, b, h0, hn)
                if Hp is not None:
                    Hp[o:o + b, ...] = h
                z = Zx[o:o + b, ...] + mm2d(be, h, W_hhT)
                h = xp.maximum(z, 0.0) if relu else xp.tanh(z)
                Y[o:o + b, ...] = h
        if self.record:
            self.Y, self.Hp, self.W_ih, self.W_hh = Y, Hp, W_ih, W_hh
            self.sizes, self.relu, self.reverse = sizes, relu, reverse
            self.has_bias = b_ih is not None
        return Y, _flush(hn, h)

    def backward(self, dY, dhn):
        xp, be, Y, sizes = self.xp, self.be, self.Y, self.sizes
        dZ = xp.empty(Y.shape, dtype=Y.dtype, device=Y.device)
        off, order = _offsets(sizes), _order(len(sizes), not self.reverse)
        dh0 = _final(xp, dhn)
        dh, W_step = dhn[:sizes[order[0]], ...], reused(be, self.W_hh)
        with product_loop(be):
            for t in order:
                o, b = off[t], sizes[t]
                dh = _resize(xp, dh, b, dhn, dh0) + dY[o:o + b, ...]
                y = Y[o:o + b, ...]
                # tanh' = 1 - y^2; relu' = [y > 0]
                dz = xp.where(y > 0, dh, 0.0) if self.relu else dh * (1 - y * y)
                dZ[o:o + b, ...] = dz
                dh = mm2d(be, dz, W_step)
        X = self.inputs[0].array
        dX, *dW = _grads_2d(be, self.needs, X, self.Hp, dZ, dZ, self.W_ih, self.has_bias)
        return (dX, _flush(dh0, dh), *dW)

    def backward_graph(self, *dYs):
        return recomputed_grads(self, _rnn_graph, dYs)


@quiet
class PackedLSTMLayer(Function):
    """PyTorch's LSTM cell (gates i, f, g, o; with ``proj`` the last input is W_hr (P, H) and
    the state carried is (o tanh(c)) W_hr^T) over packed steps."""

    def forward(self, X, h0, c0, W_ih, W_hh, *rest, sizes=(), reverse=False, proj=False):
        xp, be = self.xp, self.be
        W_hr = rest[-1] if proj else None
        b_ih, b_hh = rest[:2] if len(rest) - proj == 2 else (None, None)
        S, H = X.shape[0], W_hh.shape[0] // 4
        P = W_hh.shape[1]
        # sigmoid(x) = 0.5 + 0.5 tanh(x / 2): the 1/2 (exact) folded into the sigmoid gates'
        # rows of the weights, so the four gates are one tanh and one multiply-add
        scale, shift = _gate_affine(xp, X, H, "ssts")
        slope = scale * scale  # d(gate)/d(pre-activation) = slope (1 - tanh^2)
        Zx = mm2d(be, X, xp.matrix_transpose(W_ih * scale[:, None]),
                  None if b_ih is None else (b_ih + b_hh) * scale)
        W_hhT = reused(be, _transposed(xp, W_hh * scale[:, None]))
        W_hrT = None if W_hr is None else reused(be, _transposed(xp, W_hr))
        dt, dev = X.dtype, X.device
        Y = xp.empty((S, P), dtype=dt, device=dev)
        save = self.record
        if save:  # per row: G = d(gates)/dz [g, c_prev, i, tanh(c)], so that the backward's
            # dz = [dc, dc, dc, dh] G; Og = o (1 - tanh(c)^2); Fg = f; h before the step (and
            # o tanh(c) before the projection)
            G = xp.empty((S, 4 * H), dtype=dt, device=dev)
            Og, Fg = (xp.empty((S, H), dtype=dt, device=dev) for _ in range(2))
            Hp = xp.empty((S, P), dtype=dt, device=dev)
            Hr = None if W_hr is None else xp.empty((S, H), dtype=dt, device=dev)
        off, order = _offsets(sizes), _order(len(sizes), reverse)
        hn, cn = _final(xp, h0), _final(xp, c0)
        first = sizes[order[0]]
        h, c = h0[:first, ...], c0[:first, ...]
        with product_loop(be):
            for t in order:
                o, b = off[t], sizes[t]
                h, c = _resize(xp, h, b, h0, hn), _resize(xp, c, b, c0, cn)
                th = xp.tanh(Zx[o:o + b, ...] + mm2d(be, h, W_hhT))
                a = th * scale + shift
                i, f, g, og = a[:, :H], a[:, H:2 * H], a[:, 2 * H:3 * H], a[:, 3 * H:]
                c_prev, c = c, f * c + i * g
                tc = xp.tanh(c)
                if save:
                    Hp[o:o + b, ...], Fg[o:o + b, ...] = h, f
                    G[o:o + b, ...] = (slope - slope * (th * th)) * \
                        xp.concat([g, c_prev, i, tc], axis=1)
                    Og[o:o + b, ...] = og * (1 - tc * tc)
                h = og * tc
                if W_hr is not None:
                    if save:
                        Hr[o:o + b, ...] = h
                    h = mm2d(be, h, W_hrT)
                Y[o:o + b, ...] = h
        if save:
            self.G, self.Og, self.Fg, self.Hp, self.Hr = G, Og, Fg, Hp, Hr
            self.W_ih, self.W_hh, self.W_hr = W_ih, W_hh, W_hr
            self.sizes, self.reverse, self.has_bias = sizes, reverse, b_ih is not None
        return Y, _flush(hn, h), _flush(cn, c)

    def backward(self, dY, dhn, dcn):
        xp, be, sizes, W_hr = self.xp, self.be, self.sizes, self.W_hr
        G = self.G
        dZ = xp.empty(G.shape, dtype=G.dtype, device=G.device)
        dHy = None if W_hr is None else xp.empty(dY.shape, dtype=dY.dtype, device=dY.device)
        off, order = _offsets(sizes), _order(len(sizes), not self.reverse)
        dh0, dc0 = _final(xp, dhn), _final(xp, dcn)
        first = sizes[order[0]]
        dh, dc = dhn[:first, ...], dcn[:first, ...]
        W_step = reused(be, self.W_hh)
        W_hr_step = None if W_hr is None else reused(be, W_hr)
        with product_loop(be):
            for t in order:
                o, b = off[t], sizes[t]
                dh = _resize(xp, dh, b, dhn, dh0) + dY[o:o + b, ...]
                dc = _resize(xp, dc, b, dcn, dc0)
                if W_hr is not None:  # back through h = (o tanh(c)) W_hr^T
                    dHy[o:o + b, ...] = dh
                    dh = mm2d(be, dh, W_hr_step)
                dc = dc + dh * self.Og[o:o + b, ...]  # through h = o tanh(c)
                dz = xp.concat([dc, dc, dc, dh], axis=1) * G[o:o + b, ...]
                dZ[o:o + b, ...] = dz
                dc = dc * self.Fg[o:o + b, ...]
                dh = mm2d(be, dz, W_step)
        X = self.inputs[0].array
        dX, *dW = _grads_2d(be, self.needs, X, self.Hp, dZ, dZ, self.W_ih, self.has_bias)
        grads = (dX, _flush(dh0, dh), _flush(dc0, dc), *dW)
        if W_hr is None:
            return grads
        return grads + (mm2d(be, xp.matrix_transpose(dHy), self.Hr),)

    def backward_graph(self, *dYs):
        return recomputed_grads(self, _lstm_graph, dYs)


@quiet
class PackedGRULayer(Function):
    """PyTorch's GRU cell, n = tanh(W_in x + b_in + r (W_hn h + b_hn)), h_t = (1 - z) n +
    z h_{t-1}, over packed steps."""

    def forward(self, X, h0, W_ih, W_hh, b_ih=None, b_hh=None, sizes=(), reverse=False):
        xp, be = self.xp, self.be
        S, H = X.shape[0], W_hh.shape[1]
        Zx = mm2d(be, X, xp.matrix_transpose(W_ih), b_ih)
        W_hhT = reused(be, _transposed(xp, W_hh))
        dt, dev = X.dtype, X.device
        Y = xp.empty((S, H), dtype=dt, device=dev)
        save = self.record
        if save:  # r and z, n, W_hn h + b_hn and h before, per row
            RZ = xp.empty((S, 2 * H), dtype=dt, device=dev)
            Ng, HN, Hp = (xp.empty((S, H), dtype=dt, device=dev) for _ in range(3))
        off, order = _offsets(sizes), _order(len(sizes), reverse)
        hn = _final(xp, h0)
        h = h0[:sizes[order[0]], ...]
        with product_loop(be):
            for t in order:
                o, b = off[t], sizes[t]
                h = _resize(xp, h, b, h0, hn)
                zx, zh = Zx[o:o + b, ...], mm2d(be, h, W_hhT, b_hh)
                rz = xp.tanh((zx[:, :2 * H] + zh[:, :2 * H]) * 0.5) * 0.5 + 0.5
                r, z, hn_t = rz[:, :H], rz[:, H:], zh[:, 2 * H:]
                n = xp.tanh(zx[:, 2 * H:] + r * hn_t)
                if save:
                    RZ[o:o + b, ...], Ng[o:o + b, ...] = rz, n
                    HN[o:o + b, ...], Hp[o:o + b, ...] = hn_t, h
                h = n + z * (h - n)
                Y[o:o + b, ...] = h
        if save:
            self.RZ, self.Ng, self.HN, self.Hp = RZ, Ng, HN, Hp
            self.W_ih, self.W_hh = W_ih, W_hh
            self.sizes, self.reverse, self.has_bias = sizes, reverse, b_ih is not None
        return Y, _flush(hn, h)

    def backward(self, dY, dhn):
        xp, be, sizes, H = self.xp, self.be, self.sizes, self.Ng.shape[1]
        S = self.Ng.shape[0]
        dZx = xp.empty((S, 3 * H), dtype=dY.dtype, device=dY.device)
        dZh = xp.empty(dZx.shape, dtype=dY.dtype, device=dY.device)
        off, order = _offsets(sizes), _order(len(sizes), not self.reverse)
        dh0 = _final(xp, dhn)
        dh, W_step = dhn[:sizes[order[0]], ...], reused(be, self.W_hh)
        with product_loop(be):
            for t in order:
                o, b = off[t], sizes[t]
                dh = _resize(xp, dh, b, dhn, dh0) + dY[o:o + b, ...]
                rz, n, hn_t = self.RZ[o:o + b, ...], self.Ng[o:o + b, ...], self.HN[o:o + b, ...]
                r, z = rz[:, :H], rz[:, H:]
                dn = dh * (1 - z) * (1 - n * n)  # d(pre-activation of n)
                dz = dh * (self.Hp[o:o + b, ...] - n) * (z - z * z)
                dr = dn * hn_t * (r - r * r)
                dZx[o:o + b, ...] = xp.concat([dr, dz, dn], axis=1)
                dzh = xp.concat([dr, dz, dn * r], axis=1)  # b_hn sits inside r * (...)
                dZh[o:o + b, ...] = dzh
                dh = dh * z + mm2d(be, dzh, W_step)
        X = self.inputs[0].array
        dX, *dW = _grads_2d(be, self.needs, X, self.Hp, dZx, dZh, self.W_ih, self.has_bias)
        return (dX, _flush(dh0, dh), *dW)

    def backward_graph(self, *dYs):
        return recomputed_grads(self, _gru_graph, dYs)


# The recomputations for create_graph (recurrent_graph.py's scheme) on packed Tensors.

def _graph_steps(node, X, states, cell):
    """Runs ``cell(zx_rows, states) -> (y, states)`` over the packed steps with Tensors (X
    already projected); returns the packed output and the final states."""
    sizes = node.sizes
    off, order = _offsets(sizes), _order(len(sizes), node.reverse)
    first = sizes[order[0]]
    run, gone, Y = [s[:first] for s in states], [], [None] * len(sizes)
    for t in order:
        o, b = off[t], sizes[t]
        k = run[0].shape[0]
        if b < k:
            gone.append([s[b:k] for s in run])
            run = [s[:b] for s in run]
        elif b > k:
            run = [cat([s, full[k:b]], 0) for s, full in zip(run, states)]
        Y[t], run = cell(X[o:o + b], run)
    final = [cat([s] + [g[j] for g in reversed(gone)], 0) if gone else s
             for j, s in enumerate(run)]
    return cat(Y, 0), final


def _rnn_graph(node, X, h0, W_ih, W_hh, b_ih=None, b_hh=None):
    act = relu if node.relu else tanh

    def cell(zx, hs):
        h = act(zx + linear(hs[0], W_hh, b_hh))
        return h, [h]

    Y, (h,) = _graph_steps(node, linear(X, W_ih, b_ih), [h0], cell)
    return Y, h


def _lstm_graph(node, X, h0, c0, W_ih, W_hh, *rest):
    proj = node.W_hr is not None
    W_hr = rest[-1] if proj else None
    b_ih, b_hh = rest[:2] if len(rest) - proj == 2 else (None, None)
    H = W_hh.shape[0] // 4

    def cell(zx, hc):
        z = zx + linear(hc[0], W_hh, b_hh)
        i, f = sigmoid(z[:, :H]), sigmoid(z[:, H:2 * H])
        g, o = tanh(z[:, 2 * H:3 * H]), sigmoid(z[:, 3 * H:])
        c = f * hc[1] + i * g
        h = o * tanh(c)
        if proj:
            h = linear(h, W_hr)
        return h, [h, c]

    Y, (h, c) = _graph_steps(node, linear(X, W_ih, b_ih), [h0, c0], cell)
    return Y, h, c


def _gru_graph(node, X, h0, W_ih, W_hh, b_ih=None, b_hh=None):
    H = W_hh.shape[1]

    def cell(zx, hs):
        zh = linear(hs[0], W_hh, b_hh)
        r = sigmoid(zx[:, :H] + zh[:, :H])
        z = sigmoid(zx[:, H:2 * H] + zh[:, H:2 * H])
        n = tanh(zx[:, 2 * H:] + r * zh[:, 2 * H:])
        h = n + z * (hs[0] - n)
        return h, [h]

    Y, (h,) = _graph_steps(node, linear(X, W_ih, b_ih), [h0], cell)
    return Y, h


def packed_recurrent_layer(mode, x, sizes, hx, weights, reverse=False, proj=False):
    """One layer in one direction over a packed sequence, as one graph node.

    Args:
        mode: "RNN_TANH", "RNN_RELU", "LSTM" or "GRU".
        x: the packed data (S, input_size), S = sum(sizes).
        sizes: the batch size of each step, host ints, decreasing (``batch_sizes``).
        hx: the initial state (N, hidden_size), N = sizes[0], sorted as the packed batch;
            for LSTM a pair (h0, c0).
        weights, reverse, proj: as :func:`~xpnn.functional.recurrent.recurrent_layer`.
    Returns:
        (output (S, H) packed as x, h_n (N, H)), and c_n (N, H) third for LSTM; h_n holds
        each sequence's state after its own last step (its first step for ``reverse``).
    """
    sizes = tuple(int(b) for b in sizes)
    if mode == "LSTM":
        return PackedLSTMLayer.apply(x, *hx, *weights, sizes=sizes, reverse=reverse,
                                     proj=bool(proj))
    if mode == "GRU":
        return PackedGRULayer.apply(x, hx, *weights, sizes=sizes, reverse=reverse)
    return PackedRNNLayer.apply(x, hx, *weights, sizes=sizes, relu=mode == "RNN_RELU",
                                reverse=reverse)
